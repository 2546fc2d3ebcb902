// Package useragent names the browser and system behind a User-Agent header, in the few words a
// person recognises ("Chrome on Android"), for history logs, session lists and passkey names.
package useragent

import "strings"

// Describe returns "Browser on System", or just one of them, or "" when neither is recognised.
func Describe(ua string) string {
	b, s := Browser(ua), System(ua)
	switch {
	case b != "" && s != "":
		return b + " on " + s
	case b != "":
		return b
	}
	return s
}

// Browser names the browser: the most specific token wins, as Edge and Chrome both say Chrome.
func Browser(ua string) string {
	for _, p := range []struct{ token, name string }{
		{"MicroMessenger", "WeChat"},
		{"EdgA/", "Edge"}, {"EdgiOS/", "Edge"}, {"Edg/", "Edge"},
		{"OPR/", "Opera"},
		{"SamsungBrowser/", "Samsung Internet"},
		{"HuaweiBrowser/", "Huawei Browser"},
		{"UCBrowser/", "UC Browser"},
		{"QQBrowser/", "QQ Browser"},
		{"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
		{"CriOS/", "Chrome"}, {"HeadlessChrome/", "Chrome"}, {"Chrome/", "Chrome"},
		{"Safari/", "Safari"},
	} {
		if strings.Contains(ua, p.token) {
			return p.name
		}
	}
	return ""
}

// System names the operating system or device.
func System(ua string) string {
	for _, p := range []struct{ token, name string }{
		{"iPhone", "iPhone"}, {"iPad", "iPad"},
		{"HarmonyOS", "HarmonyOS"},
		{"Android", "Android"},
		{"Windows", "Windows"},
		{"CrOS", "ChromeOS"},
		{"Mac OS X", "macOS"}, {"Macintosh", "macOS"},
		{"Linux", "Linux"},
	} {
		if strings.Contains(ua, p.token) {
			return p.name
		}
	}
	return ""
}
