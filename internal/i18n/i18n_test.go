package i18n

import (
	"sort"
	"strings"
	"testing"
)

func TestCatalogs_EveryKeyInBothLanguages(t *testing.T) {
	ids, err := MessageIDs()
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != len(Languages) {
		t.Fatalf("catalog languages = %v, want %v", keys(ids), Languages)
	}
	for _, a := range Languages {
		for _, b := range Languages {
			for id := range ids[a] {
				if !ids[b][id] {
					area, key, _ := strings.Cut(id, "|")
					t.Errorf("%s.%s.toml lacks %q, present in %s", area, b, key, a)
				}
			}
		}
	}
	if len(ids[Chinese]) < 20 {
		t.Errorf("only %d messages", len(ids[Chinese]))
	}
}

func TestCatalogs_Load(t *testing.T) {
	if _, err := Load(); err != nil {
		t.Fatal(err)
	}
}

func TestNegotiate(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ choice, accept, want string }{
		{"", "", Chinese},
		{"", "en-US,en;q=0.9", English},
		{"", "zh-CN,zh;q=0.9,en;q=0.8", Chinese},
		{"", "fr-FR", Chinese},
		{"en", "zh-CN", English},
		{"xx", "en", English},
		{"", "garbage;;;q=x", Chinese},
	}
	for _, c2 := range cases {
		if got := c.Negotiate(c2.choice, c2.accept); got != c2.want {
			t.Errorf("Negotiate(%q, %q) = %q, want %q", c2.choice, c2.accept, got, c2.want)
		}
	}
}

func TestTranslator_ReportsMissing(t *testing.T) {
	c, _ := Load()
	var missing []string
	c.OnMissing(func(lang, id string) { missing = append(missing, lang+":"+id) })
	if got := c.For(English).T("no.such.key"); got != "no.such.key" {
		t.Errorf("missing key rendered as %q", got)
	}
	if len(missing) != 1 {
		t.Errorf("missing = %v", missing)
	}
}

func TestTranslator_Plural(t *testing.T) {
	c, _ := Load()
	en := c.For(English)
	if got := en.TN("notice.days_left", 1, nil); !strings.Contains(got, "1 day") || strings.Contains(got, "days") {
		t.Errorf("one: %q", got)
	}
	if got := en.TN("notice.days_left", 5, nil); !strings.Contains(got, "5 days") {
		t.Errorf("other: %q", got)
	}
	if got := c.For(Chinese).TN("notice.days_left", 5, nil); !strings.Contains(got, "5") {
		t.Errorf("zh: %q", got)
	}
}

func keys(m map[string]map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
