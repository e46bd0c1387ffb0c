package row

import (
	"errors"
	"testing"
)

// TestParseJSONTrailingData: arguments, rows and keys are exactly one JSON
// value and then the end of input; JSON whitespace around it is allowed.
func TestParseJSONTrailingData(t *testing.T) {
	types := []Type{mustType(t, "u64"), mustType(t, "string")}
	names := []string{"k", "v"}
	tests := []struct {
		name string
		data string
		ok   bool
	}{
		{"array", `[50,"x"]`, true},
		{"object", `{"k":1,"v":"x"}`, true},
		{"JSON whitespace around", " \t\r\n[50,\"x\"]\n ", true},
		{"stray closing bracket after array", `[50,"x"]]`, false},
		{"stray closing brackets after object", `{"k":1,"v":"x"}]]]`, false},
		{"stray closing brace", `[50,"x"]}`, false},
		{"second value", `[50,"x"] [50,"x"]`, false},
		{"trailing comma", `[50,"x"],`, false},
		{"trailing garbage", `[50,"x"]x`, false},
		{"no-break space after value", "[50,\"x\"]\u00a0", false},
		{"no-break space before value", "\u00a0[50,\"x\"]", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vals, err := ParseJSON([]byte(tc.data), names, types)
			if tc.ok {
				if err != nil || len(vals) != 2 {
					t.Fatalf("ParseJSON(%q) = %v, %v", tc.data, vals, err)
				}
				return
			}
			if !errors.Is(err, ErrType) {
				t.Fatalf("ParseJSON(%q) = %v, %v; want ErrType", tc.data, vals, err)
			}
		})
	}
}

// TestParseJSONValueTrailingData: a JSON key is one value of the key type
// and then the end of input.
func TestParseJSONValueTrailingData(t *testing.T) {
	tests := []struct {
		name string
		typ  string
		data string
		want any // nil: an error
	}{
		{"u64", "u64", "1", uint64(1)},
		{"u64 with whitespace", "u64", " 1\n", uint64(1)},
		{"string", "string", `"a"`, "a"},
		{"stray closing bracket", "u64", "1]", nil},
		{"stray bracket pair", "u64", "1],[2", nil},
		{"two values", "u64", "1 2", nil},
		{"array", "u64", "[1]", nil},
		{"string then brace", "string", `"a"}`, nil},
		{"empty", "u64", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := ParseJSONValue([]byte(tc.data), mustType(t, tc.typ))
			if tc.want == nil {
				if !errors.Is(err, ErrType) {
					t.Fatalf("ParseJSONValue(%q) = %#v, %v; want ErrType", tc.data, v, err)
				}
				return
			}
			if err != nil || v != tc.want {
				t.Fatalf("ParseJSONValue(%q) = %#v, %v; want %#v", tc.data, v, err, tc.want)
			}
		})
	}
}
