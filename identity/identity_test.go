package identity

import (
	"context"
	"testing"
)

func TestValidIDNumber(t *testing.T) {
	for _, c := range []struct {
		s  string
		ok bool
	}{
		{"11010519491231002X", true}, // the standard's example
		{"11010519491231002x", true},
		{"110105194912310021", false},
		{"310181198910107644", true},
		{"310181198910107641", false},
		{"31018119891010764", false},
		{"3101811989101076A1", false},
		{"", false},
	} {
		if got := ValidIDNumber(c.s); got != c.ok {
			t.Errorf("ValidIDNumber(%q) = %v", c.s, got)
		}
	}
}

func TestSandbox(t *testing.T) {
	for _, c := range []struct {
		check Check
		code  int
	}{
		{Check{Type: "id_card", Name: "张三", IDNumber: "310181198910107644"}, Matched},
		{Check{Type: "id_card", Name: MismatchName, IDNumber: "310181198910107644"}, Mismatch},
		{Check{Type: "bank_card", Name: "张三", IDNumber: "310181198910107644", CardNumber: "6216261000000000018", Phone: "13800138000"}, Matched},
		{Check{Type: "bank_card", Name: "张三", IDNumber: "310181198910107644", CardNumber: "6216261000000000000", Phone: "13800138000"}, Mismatch},
		{Check{Type: "bank_card", Name: "张三", IDNumber: "310181198910107644", CardNumber: "6216261000000000018", Phone: "17800138000"}, Mismatch},
	} {
		r, err := Sandbox{}.Verify(context.Background(), c.check)
		if err != nil || r.Code != c.code {
			t.Errorf("Verify(%+v) = %+v, %v; want code %d", c.check, r, err, c.code)
		}
	}
}

func TestMasked(t *testing.T) {
	m := Masked(Check{Type: "bank_card", Name: "张三丰", IDNumber: "310181198910107644", CardNumber: "6216261000000000018", Phone: "13800138000"})
	if m.Name != "张**" || m.IDNumber != "**************7644" || m.CardNumber != "***************0018" || m.Phone != "*******8000" {
		t.Fatalf("masked %+v", m)
	}
}

// FuzzChecks: the input checks never panic, and a valid ID number stays
// valid only with its own check character.
func FuzzChecks(f *testing.F) {
	f.Add("11010519491231002X", "张三", "6216261000000000018", "13800138000")
	f.Add("", "", "", "")
	f.Fuzz(func(t *testing.T, id, name, card, phone string) {
		ValidName(name)
		ValidCard(card)
		ValidPhone(phone)
		Masked(Check{Name: name, IDNumber: id, CardNumber: card, Phone: phone})
		if ValidIDNumber(id) && len(id) == 18 {
			alt := []byte(id)
			if alt[17] == '0' {
				alt[17] = '1'
			} else {
				alt[17] = '0'
			}
			if ValidIDNumber(string(alt)) && !(id[17] == 'x' || id[17] == 'X') {
				t.Fatalf("%q and %q both valid", id, alt)
			}
		}
	})
}
