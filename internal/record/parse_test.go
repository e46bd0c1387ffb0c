package record

import "testing"

// TestAppendJSONRefusesTrailingData: ParseJSON's record (interstice_log_append_json)
// is exactly one JSON object; a stray bracket or a second value after it
// is refused (Decoder.More let "}]" through).
func TestAppendJSONRefusesTrailingData(t *testing.T) {
	const rec = `{"module":"m","reducer":"r","mutations":[{"op":"Insert","module":"m","table":"t","row":[1,"x"]}]}`
	tests := []struct {
		name string
		data string
		ok   bool
	}{
		{"one object", rec, true},
		{"one object and whitespace", " " + rec + "\n", true},
		{"stray closing bracket", rec + "]", false},
		{"stray closing brackets", rec + "]]]", false},
		{"stray closing brace", rec + "}", false},
		{"second object", rec + rec, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseJSON([]byte(tc.data))
			if (err == nil) != tc.ok {
				t.Fatalf("ParseJSON(%q) error %v, want ok %v", tc.data, err, tc.ok)
			}
		})
	}
}
