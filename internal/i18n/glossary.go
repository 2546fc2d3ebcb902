package i18n

import (
	_ "embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"github.com/BurntSushi/toml"
)

//go:embed glossary.toml
var glossaryFile []byte

// Term is one entry of the glossary (glossary.toml): the word for a thing in each language, the
// variants that must not be used for it, and names that contain such a variant but are right.
type Term struct {
	ZH      string   `toml:"zh"`
	EN      string   `toml:"en"`
	ZHAvoid []string `toml:"zh_avoid"`
	ENAvoid []string `toml:"en_avoid"`
	Allow   []string `toml:"allow"`
	Note    string   `toml:"note"`

	keep  []*regexp.Regexp // the term and the allowed names, longest first, in any case
	words []*regexp.Regexp // ENAvoid as whole words, in any case
}

// Glossary reads the glossary: one term per thing, which every catalogue (pages, email and text
// messages, the history's events) uses.
func Glossary() ([]Term, error) {
	var g struct {
		Term []Term `toml:"term"`
	}
	md, err := toml.Decode(string(glossaryFile), &g)
	if err != nil {
		return nil, fmt.Errorf("glossary: %w", err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		return nil, fmt.Errorf("glossary: unknown keys %v", un)
	}
	for i := range g.Term {
		t := &g.Term[i]
		keep := append([]string{t.ZH, t.EN}, t.Allow...)
		sort.Slice(keep, func(i, j int) bool { return len(keep[i]) > len(keep[j]) })
		for _, k := range keep {
			if k != "" {
				t.keep = append(t.keep, regexp.MustCompile(`(?i)`+regexp.QuoteMeta(k)))
			}
		}
		for _, a := range t.ENAvoid {
			t.words = append(t.words, regexp.MustCompile(`(?i)(^|[^\pL\pN])`+regexp.QuoteMeta(a)+`($|[^\pL\pN])`))
		}
	}
	return g.Term, nil
}

// Misused lists the avoided variants that text, in lang, uses instead of a glossary term, each as
// "variant (use term)". A variant inside the term itself or an allowed name does not count, so
// 身份验证器应用 is not the variant 验证器应用, while 手机号码 is a variant of 手机号. Chinese
// variants match as written, English ones as whole words in any case.
func Misused(terms []Term, lang, text string) []string {
	var out []string
	for _, t := range terms {
		var covered [][]int
		for _, k := range t.keep {
			covered = append(covered, k.FindAllStringIndex(text, -1)...)
		}
		inside := func(at []int) bool {
			for _, c := range covered {
				if c[0] <= at[0] && at[1] <= c[1] {
					return true
				}
			}
			return false
		}
		if lang == English {
			for i, w := range t.words {
				for _, at := range w.FindAllStringIndex(text, -1) {
					if !inside(at) {
						out = append(out, t.ENAvoid[i]+" (use "+t.EN+")")
						break
					}
				}
			}
			continue
		}
		for _, a := range t.ZHAvoid {
			for from := 0; ; {
				i := strings.Index(text[from:], a)
				if i < 0 {
					break
				}
				at := []int{from + i, from + i + len(a)}
				if !inside(at) {
					out = append(out, a+" (use "+t.ZH+")")
					break
				}
				from = at[1]
			}
		}
	}
	return out
}

// templateAction matches a text/template action such as {{.Time}}, which is no text.
var templateAction = regexp.MustCompile(`\{\{[^}]*\}\}`)

// HalfWidthPunctuation lists the ASCII colons, commas, question and exclamation marks and
// semicolons that Chinese text puts next to a Chinese character (spaces and template actions
// between them aside), where full-width ：，？！； belong; each with a little context.
func HalfWidthPunctuation(text string) []string {
	runes := []rune(templateAction.ReplaceAllString(text, "X"))
	var out []string
	near := func(i, step int) rune {
		for j := i + step; j >= 0 && j < len(runes); j += step {
			if runes[j] != ' ' {
				return runes[j]
			}
		}
		return 0
	}
	for i, r := range runes {
		if !strings.ContainsRune(":,?!;", r) {
			continue
		}
		if isCJK(near(i, -1)) || isCJK(near(i, +1)) {
			from, to := max(0, i-6), min(len(runes), i+7)
			out = append(out, fmt.Sprintf("%q in …%s…", string(r), string(runes[from:to])))
		}
	}
	return out
}

// isCJK reports whether r is a Chinese character or Chinese punctuation.
func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || strings.ContainsRune("，。：；？！、（）“”《》【】…", r)
}

// Messages returns every message of the catalogue files of lang, by area and ID
// ("notice|notice.title"); a message with plural forms gives each form, joined by a blank line.
func Messages(lang string) (map[string]string, error) {
	entries, err := fs.Glob(localeFiles, "locales/*."+lang+".toml")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, name := range entries {
		area := strings.SplitN(strings.TrimPrefix(name, "locales/"), ".", 2)[0]
		data, err := localeFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := toml.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("catalog %s: %w", name, err)
		}
		for id, v := range m {
			switch v := v.(type) {
			case string:
				out[area+"|"+id] = v
			case map[string]any:
				var forms []string
				for _, f := range v {
					if s, ok := f.(string); ok {
						forms = append(forms, s)
					}
				}
				sort.Strings(forms)
				out[area+"|"+id] = strings.Join(forms, "\n\n")
			}
		}
	}
	return out, nil
}
