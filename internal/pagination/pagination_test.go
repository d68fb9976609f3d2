package pagination

import (
	"testing"

	"credkeep/internal/apierror"
)

func ptr[T any](v T) *T { return &v }

func TestParse(t *testing.T) {
	cases := []struct {
		name  string
		args  Args
		want  Request
		field string // "" when valid
	}{
		{"default", Args{}, Request{Limit: 50}, ""},
		{"first", Args{First: ptr(10), After: ptr("c")}, Request{Limit: 10, After: "c"}, ""},
		{"last", Args{Last: ptr(5), Before: ptr("c")}, Request{Limit: 5, Backward: true, Before: "c"}, ""},
		{"both", Args{First: ptr(1), Last: ptr(1)}, Request{}, "last"},
		{"first zero", Args{First: ptr(0)}, Request{}, "first"},
		{"first too big", Args{First: ptr(201)}, Request{}, "first"},
		{"last negative", Args{Last: ptr(-1)}, Request{}, "last"},
		{"max", Args{Last: ptr(200)}, Request{Limit: 200, Backward: true}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse(c.args)
			if c.field == "" {
				if err != nil || got != c.want {
					t.Fatalf("Parse = %+v, %v; want %+v", got, err, c.want)
				}
				return
			}
			ae, ok := apierror.As(err)
			if !ok || ae.Code != apierror.BadUserInput || ae.Field != c.field {
				t.Fatalf("err = %v, want BAD_USER_INPUT on %s", err, c.field)
			}
		})
	}
}

func TestWindow(t *testing.T) {
	cases := []struct {
		name             string
		r                Request
		n, from, to      int
		start, end       int
		hasPrev, hasNext bool
	}{
		{"first page", Request{Limit: 3}, 10, 0, 10, 0, 3, false, true},
		{"after", Request{Limit: 3}, 10, 3, 10, 3, 6, true, true},
		{"last forward page", Request{Limit: 3}, 10, 8, 10, 8, 10, true, false},
		{"last page backward", Request{Limit: 3, Backward: true}, 10, 0, 10, 7, 10, true, false},
		{"before", Request{Limit: 3, Backward: true}, 10, 0, 7, 4, 7, true, true},
		{"before near start", Request{Limit: 3, Backward: true}, 10, 0, 2, 0, 2, false, true},
		{"between after and before", Request{Limit: 5}, 10, 2, 4, 2, 4, true, true},
		{"empty", Request{Limit: 5}, 0, 0, 0, 0, 0, false, false},
		{"crossed cursors", Request{Limit: 5}, 10, 6, 3, 6, 6, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, e, info := c.r.Window(c.n, c.from, c.to)
			if s != c.start || e != c.end || info.HasPrevious != c.hasPrev || info.HasNext != c.hasNext {
				t.Fatalf("Window = [%d,%d) %+v; want [%d,%d) prev=%v next=%v", s, e, info, c.start, c.end, c.hasPrev, c.hasNext)
			}
		})
	}
}

func TestCursors(t *testing.T) {
	c := Cursor("cred", "prod smtp", "id-1")
	parts, err := Decode("after", "cred", c, 2)
	if err != nil || parts[0] != "prod smtp" || parts[1] != "id-1" {
		t.Fatalf("Decode = %v, %v", parts, err)
	}
	for _, bad := range []string{"", "!!", Cursor("audit", "5"), Cursor("cred", "only-one")} {
		if _, err := Decode("after", "cred", bad, 2); err == nil {
			t.Errorf("Decode(%q) accepted", bad)
		}
	}
}
