package phone

import "testing"

func TestNormalize_AcceptsCommonFormats(t *testing.T) {
	cases := []struct{ in, want string }{
		{"13812345678", "+8613812345678"},
		{"+86 138 1234 5678", "+8613812345678"},
		{"+86-138-1234-5678", "+8613812345678"},
		{"0086 13812345678", "+8613812345678"},
		{"(138) 1234-5678", "+8613812345678"},
		{"+44 20 7946 0958", "+442079460958"},
	}
	for _, c := range cases {
		got, err := Normalize(c.in, DefaultRegion)
		if err != nil || got != c.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestNormalize_RefusesNonsense(t *testing.T) {
	for _, in := range []string{"", "abc", "123", "+86 1", "1381234567890123456789"} {
		if got, err := Normalize(in, DefaultRegion); err == nil {
			t.Errorf("Normalize(%q) = %q, want error", in, got)
		}
	}
}

func TestMask_HidesMiddleDigits(t *testing.T) {
	cases := []struct{ in, want string }{
		{"+8613812345678", "138****5678"},
		{"+8619912345678", "199****5678"},
		{"+861012345678", "101***5678"}, // a Beijing landline: parsed
		{"+442079460958", "+44 207***0958"},
	}
	for _, c := range cases {
		if got := Mask(c.in); got != c.want {
			t.Errorf("Mask(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestLooksLikePhone(t *testing.T) {
	if !LooksLikePhone("+86 138-1234-5678") {
		t.Error("phone with punctuation not recognised")
	}
	if LooksLikePhone("u1001") || LooksLikePhone("12345") {
		t.Error("account ID taken for a phone number")
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"13812345678", "+86 138 1234 5678", "0086-138", "+", "", "(((", "+999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Normalize(s, DefaultRegion)
		if err != nil {
			return
		}
		again, err := Normalize(got, DefaultRegion)
		if err != nil || again != got {
			t.Fatalf("E.164 %q does not normalise to itself: %q, %v", got, again, err)
		}
		_ = Mask(got)
	})
}
