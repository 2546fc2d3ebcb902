package config

import "flag"

func flagNames(c *Config) []string {
	var names []string
	c.FlagSet("names").VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

// Flags lists every flag with its environment variable, default and help, for documentation.
func Flags() []struct{ Name, Env, Default, Help string } {
	var c Config
	var out []struct{ Name, Env, Default, Help string }
	c.FlagSet("doc").VisitAll(func(f *flag.Flag) {
		out = append(out, struct{ Name, Env, Default, Help string }{f.Name, EnvName(f.Name), f.DefValue, f.Usage})
	})
	return out
}
