// Package i18n holds the message catalogs (Simplified Chinese first, English second) and picks
// the language for a request.
package i18n

import (
	"embed"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// The supported languages, as used in lang attributes, cookies and catalog file names.
const (
	Chinese = "zh-Hans"
	English = "en"
)

// Languages lists the supported languages, the default first.
var Languages = []string{Chinese, English}

//go:embed locales/*.toml
var localeFiles embed.FS

// Catalog holds every message in every language.
type Catalog struct {
	bundle  *goi18n.Bundle
	matcher language.Matcher
	mu      sync.Mutex
	missing func(lang, id string)
	byLang  map[string]*Translator
}

// Load reads the embedded catalogs.
func Load() (*Catalog, error) {
	b := goi18n.NewBundle(language.SimplifiedChinese)
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	entries, err := fs.Glob(localeFiles, "locales/*.toml")
	if err != nil {
		return nil, err
	}
	for _, name := range entries {
		data, err := localeFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if _, err := b.ParseMessageFileBytes(data, name); err != nil {
			return nil, fmt.Errorf("catalog %s: %w", name, err)
		}
	}
	c := &Catalog{
		bundle:  b,
		matcher: language.NewMatcher([]language.Tag{language.SimplifiedChinese, language.English}),
		byLang:  map[string]*Translator{},
	}
	for _, l := range Languages {
		c.byLang[l] = &Translator{lang: l, loc: goi18n.NewLocalizer(b, l), cat: c, plain: map[string]string{}, templates: map[string]*template.Template{}}
	}
	// Messages with one form are kept ready per language, so that a page's dozens of messages do
	// not each go through the localizer's language matching: a text as it is, a template parsed.
	for _, name := range entries {
		lang := strings.Split(strings.TrimPrefix(name, "locales/"), ".")[1]
		t, ok := c.byLang[lang]
		if !ok {
			continue
		}
		data, _ := localeFiles.ReadFile(name)
		var m map[string]any
		if err := toml.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("catalog %s: %w", name, err)
		}
		for id, v := range m {
			text, ok := v.(string)
			if !ok {
				continue // plural forms: the localizer picks one
			}
			if !strings.Contains(text, "{{") {
				t.plain[id] = text
				continue
			}
			tmpl, err := template.New(id).Parse(text)
			if err != nil {
				return nil, fmt.Errorf("catalog %s: %s: %w", name, id, err)
			}
			t.templates[id] = tmpl
		}
	}
	return c, nil
}

// OnMissing sets a function called whenever a message is missing; tests use it to fail.
func (c *Catalog) OnMissing(fn func(lang, id string)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.missing = fn
}

func (c *Catalog) reportMissing(lang, id string) {
	c.mu.Lock()
	fn := c.missing
	c.mu.Unlock()
	if fn != nil {
		fn(lang, id)
	}
}

// Supported returns lang when it is a supported language, else "".
func Supported(lang string) string {
	for _, l := range Languages {
		if strings.EqualFold(l, lang) {
			return l
		}
	}
	return ""
}

// Negotiate picks the language: an explicit choice when supported, else the best match for the
// Accept-Language header, else Chinese.
func (c *Catalog) Negotiate(choice, acceptLanguage string) string {
	if l := Supported(choice); l != "" {
		return l
	}
	if acceptLanguage == "" || len(acceptLanguage) > 512 {
		return Chinese
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return Chinese
	}
	_, idx, conf := c.matcher.Match(tags...)
	if conf == language.No {
		return Chinese
	}
	return Languages[idx]
}

// For returns the translator for a supported language; an unknown one gets Chinese.
func (c *Catalog) For(lang string) *Translator {
	if t, ok := c.byLang[lang]; ok {
		return t
	}
	return c.byLang[Chinese]
}

// Translator renders messages in one language.
type Translator struct {
	lang      string
	loc       *goi18n.Localizer
	cat       *Catalog
	plain     map[string]string             // messages of this language without a template
	templates map[string]*template.Template // messages of this language with one, without plural forms
}

// Lang returns the translator's language.
func (t *Translator) Lang() string { return t.lang }

// T returns the message id.
func (t *Translator) T(id string) string {
	if s, ok := t.plain[id]; ok {
		return s
	}
	return t.localize(&goi18n.LocalizeConfig{MessageID: id})
}

// Tf returns the message id with data filled into its template.
func (t *Translator) Tf(id string, data map[string]any) string {
	if s, ok := t.plain[id]; ok {
		return s
	}
	if tmpl, ok := t.templates[id]; ok {
		var b strings.Builder
		if err := tmpl.Execute(&b, data); err == nil {
			return b.String()
		}
	}
	return t.localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data})
}

// TN returns the plural form of message id for count n, with {{.Count}} set to n unless data
// already sets it (to a placeholder that a script fills in, say).
func (t *Translator) TN(id string, n int, data map[string]any) string {
	if data == nil {
		data = map[string]any{}
	}
	if _, ok := data["Count"]; !ok {
		data["Count"] = n
	}
	return t.localize(&goi18n.LocalizeConfig{MessageID: id, PluralCount: n, TemplateData: data})
}

func (t *Translator) localize(cfg *goi18n.LocalizeConfig) string {
	s, tag, err := t.loc.LocalizeWithTag(cfg)
	if err != nil || tag.String() != langTag(t.lang) {
		t.cat.reportMissing(t.lang, cfg.MessageID)
		if s == "" {
			return cfg.MessageID
		}
	}
	return s
}

func langTag(lang string) string {
	if lang == Chinese {
		return language.SimplifiedChinese.String()
	}
	return lang
}

// MessageIDs returns the message IDs of each catalog file, by language, for the completeness test.
func MessageIDs() (map[string]map[string]bool, error) {
	out := map[string]map[string]bool{}
	entries, err := fs.Glob(localeFiles, "locales/*.toml")
	if err != nil {
		return nil, err
	}
	for _, name := range entries {
		parts := strings.Split(strings.TrimPrefix(name, "locales/"), ".")
		if len(parts) != 3 {
			return nil, fmt.Errorf("catalog %s: want AREA.LANG.toml", name)
		}
		lang := parts[1]
		data, _ := localeFiles.ReadFile(name)
		var m map[string]any
		if err := toml.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("catalog %s: %w", name, err)
		}
		if out[lang] == nil {
			out[lang] = map[string]bool{}
		}
		for id := range m {
			out[lang][parts[0]+"|"+id] = true
		}
	}
	return out, nil
}

// Has reports whether the catalogue has message id in the translator's language.
func (t *Translator) Has(id string) bool {
	if _, ok := t.plain[id]; ok {
		return true
	}
	_, tag, err := t.loc.LocalizeWithTag(&goi18n.LocalizeConfig{MessageID: id})
	return err == nil && tag.String() == langTag(t.lang)
}

// Zone names the time zone loc, at the moment at, as people there say it: 北京时间 or China
// Standard Time for Asia/Shanghai (message "zone.<IANA name>"), else its offset from UTC
// ("UTC+8", "UTC+05:30").
func (t *Translator) Zone(loc *time.Location, at time.Time) string {
	if loc == nil {
		loc = time.UTC
	}
	if id := "zone." + loc.String(); t.Has(id) {
		return t.T(id)
	}
	_, offset := at.In(loc).Zone()
	sign := "+"
	if offset < 0 {
		sign, offset = "-", -offset
	}
	h, m := offset/3600, offset%3600/60
	text := sign + strconv.Itoa(h)
	if m != 0 {
		text = fmt.Sprintf("%s%02d:%02d", sign, h, m)
	}
	return t.Tf("zone.offset", map[string]any{"Offset": text})
}

// Device names a browser and a system, by the IDs useragent.Parse gives ("chrome", "linux"), in
// the translator's language: "Linux 上的 Chrome" or "Chrome on Linux"; either alone when the other
// is unknown; "" when neither is.
func (t *Translator) Device(browser, system string) string {
	name := func(kind, id string) string {
		if id == "" || !t.Has("device."+kind+"."+id) {
			return ""
		}
		return t.T("device." + kind + "." + id)
	}
	b, s := name("browser", browser), name("system", system)
	switch {
	case b != "" && s != "":
		return t.Tf("device.on", map[string]any{"Browser": b, "System": s})
	case b != "":
		return b
	}
	return s
}
