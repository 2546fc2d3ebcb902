// Package useragent tells the browser and system behind a User-Agent header, as the few words a
// person recognises ("Chrome on Android"), for history logs, session lists and passkey names. It
// gives stable IDs ("chrome", "android"); pages and messages name them in the reader's language
// (i18n.Translator.Device).
package useragent

import "strings"

// Device is the browser and the system of a User-Agent, by ID; "" when not recognised.
type Device struct {
	Browser string // wechat, edge, opera, samsung, huawei, uc, qq, firefox, chrome, safari
	System  string // iphone, ipad, harmonyos, android, windows, chromeos, macos, linux
}

// Parse tells the browser and system of ua.
func Parse(ua string) Device { return Device{Browser: Browser(ua), System: System(ua)} }

// Browser tells the browser: the most specific token wins, as Edge and Chrome both say Chrome.
func Browser(ua string) string {
	for _, p := range []struct{ token, id string }{
		{"MicroMessenger", "wechat"},
		{"EdgA/", "edge"}, {"EdgiOS/", "edge"}, {"Edg/", "edge"},
		{"OPR/", "opera"},
		{"SamsungBrowser/", "samsung"},
		{"HuaweiBrowser/", "huawei"},
		{"UCBrowser/", "uc"},
		{"QQBrowser/", "qq"},
		{"Firefox/", "firefox"}, {"FxiOS/", "firefox"},
		{"CriOS/", "chrome"}, {"HeadlessChrome/", "chrome"}, {"Chrome/", "chrome"},
		{"Safari/", "safari"},
	} {
		if strings.Contains(ua, p.token) {
			return p.id
		}
	}
	return ""
}

// System tells the operating system or device.
func System(ua string) string {
	for _, p := range []struct{ token, id string }{
		{"iPhone", "iphone"}, {"iPad", "ipad"},
		{"HarmonyOS", "harmonyos"},
		{"Android", "android"},
		{"Windows", "windows"},
		{"CrOS", "chromeos"},
		{"Mac OS X", "macos"}, {"Macintosh", "macos"},
		{"Linux", "linux"},
	} {
		if strings.Contains(ua, p.token) {
			return p.id
		}
	}
	return ""
}

// familyNames are the fixed English words Family writes for each ID.
var familyNames = map[string]string{
	"wechat": "WeChat", "edge": "Edge", "opera": "Opera", "samsung": "Samsung Internet", "huawei": "Huawei Browser",
	"uc": "UC Browser", "qq": "QQ Browser", "firefox": "Firefox", "chrome": "Chrome", "safari": "Safari",
	"iphone": "iPhone", "ipad": "iPad", "harmonyos": "HarmonyOS", "android": "Android", "windows": "Windows",
	"chromeos": "ChromeOS", "macos": "macOS", "linux": "Linux",
}

// Family is the browser family of ua in fixed English words ("Chrome on Windows"; "" when neither
// is recognised): a stable key for telling devices apart, the same in every language and version.
// Pages and messages name a device in the reader's language instead (i18n.Translator.Device).
func Family(ua string) string {
	d := Parse(ua)
	b, s := familyNames[d.Browser], familyNames[d.System]
	switch {
	case b != "" && s != "":
		return b + " on " + s
	case b != "":
		return b
	}
	return s
}
