package row

import (
	"errors"
	"testing"
)

// TestParseJSONErrorsAreTyped: ParseJSON's failures were strings only
// ("by: row: type mismatch: null for non-optional i64" for a missing
// member), so a caller could not say which parameter was missing or how
// many values were given.
func TestParseJSONErrorsAreTyped(t *testing.T) {
	names := []string{"name", "by", "note"}
	types := []Type{mustType(t, "string"), mustType(t, "i64"), mustType(t, "string?")}
	tests := []struct {
		name string
		json string
		want string
		as   func(error) bool
	}{
		{"missing member", `{"name":"a"}`, `row: type mismatch: missing "by" (i64)`, func(err error) bool {
			var me *MissingError
			return errors.As(err, &me) && me.Index == 1 && me.Name == "by"
		}},
		{"wrong count", `["a"]`, "row: type mismatch: 1 values given, 3 expected", func(err error) bool {
			var ce *CountError
			return errors.As(err, &ce) && ce.Given == 1 && ce.Want == 3
		}},
		{"bad value", `["a", "x", null]`, "by: row: type mismatch: JSON string for i64", func(err error) bool {
			var ve *ValueError
			return errors.As(err, &ve) && ve.Index == 1 && ve.Name == "by"
		}},
		{"number for a string", `[1, 2, null]`, "name: row: type mismatch: JSON number for string", func(err error) bool {
			var ve *ValueError
			return errors.As(err, &ve) && ve.Index == 0
		}},
		{"explicit null", `{"name":"a","by":null}`, "by: row: type mismatch: null for non-optional i64", func(err error) bool {
			var ve *ValueError
			return errors.As(err, &ve) && ve.Index == 1
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseJSON([]byte(tc.json), names, types)
			if err == nil || err.Error() != tc.want || !tc.as(err) || !errors.Is(err, ErrType) {
				t.Fatalf("ParseJSON(%s) = %v (%T), want %q", tc.json, err, err, tc.want)
			}
		})
	}
	// A missing optional member is still null.
	if vals, err := ParseJSON([]byte(`{"name":"a","by":1}`), names, types); err != nil || vals[2] != nil {
		t.Fatalf("missing optional member: %v %v", vals, err)
	}
}

// TestCheckCountIsCountError: Check's wrong value count is a *CountError.
func TestCheckCountIsCountError(t *testing.T) {
	err := Check(MustEncode("a"), []Type{mustType(t, "string"), mustType(t, "i64")})
	var ce *CountError
	if !errors.As(err, &ce) || ce.Given != 1 || ce.Want != 2 || !errors.Is(err, ErrType) {
		t.Fatalf("Check: %v (%T)", err, err)
	}
}
