package main

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ringhttpd/ringhttpd/site"
)

// The configuration file (--config): the site layer's TOML file. Its
// top-level keys are either the site layer's own (root, index, listing,
// dotfiles, hide_well_known, fallback, rule, site, compress) or a flag's
// name ("header_timeout" or "header-timeout" for --header-timeout). A flag
// given on the command line or through its RINGHTTPD_* variable wins over
// the file. The site configuration (sites, rules, compression, and the
// default site's root and options) is reloaded on SIGHUP; the other keys
// are read once, at start.

const fConfig = "config"

func configFlag() cli.Flag {
	return &cli.StringFlag{Name: fConfig, EnvVars: env("RINGHTTPD_CONFIG"),
		Usage: "TOML configuration file: virtual hosts, path rules, compression; every flag is also a key (flags and RINGHTTPD_* variables win over the file)"}
}

// fileConfig is the --config file as the command uses it.
type fileConfig struct {
	path     string
	explicit map[string]bool   // flags set on the command line or in the environment
	settings map[string]string // the file's flag keys, as applied (to notice changes on reload)
	site     *site.Config      // the file's site configuration, or an empty one
}

// loadConfigFile reads --config, if given, and applies its flag keys to the
// flags the command line and environment left unset. Errors name the
// file, line and key.
func loadConfigFile(c *cli.Context) (*fileConfig, error) {
	fc := &fileConfig{path: c.String(fConfig), explicit: map[string]bool{}, settings: map[string]string{}}
	for _, f := range serveFlags() {
		name := f.Names()[0]
		if c.IsSet(name) {
			fc.explicit[name] = true
		}
	}
	if fc.path == "" {
		fc.site = &site.Config{}
		return fc, nil
	}
	cfg, err := site.Load(fc.path)
	if err != nil {
		return nil, fail("%v", err)
	}
	fc.site = cfg
	keys := map[string]string{}
	for _, s := range cfg.Settings {
		name, vals, err := fc.setting(s)
		if err != nil {
			return nil, err
		}
		if k, dup := keys[name]; dup {
			return nil, fail("%s:%d: %s: already set as %s", fc.path, s.Line, s.Key, k)
		}
		keys[name] = s.Key
		fc.settings[name] = strings.Join(vals, "\x00")
		if fc.explicit[name] {
			continue
		}
		for _, v := range vals {
			if err := c.Set(name, v); err != nil {
				return nil, fail("%s:%d: %s: %v", fc.path, s.Line, s.Key, err)
			}
		}
	}
	return fc, nil
}

// setting checks one of the file's flag keys and returns the flag's name
// and the values to set it to (several for a list).
func (fc *fileConfig) setting(s site.Setting) (string, []string, error) {
	bad := func(format string, a ...any) error {
		return fail("%s:%d: %s: %s", fc.path, s.Line, s.Key, fmt.Sprintf(format, a...))
	}
	name := strings.ReplaceAll(s.Key, "_", "-")
	var flag cli.Flag
	for _, f := range serveFlags() {
		if f.Names()[0] == name {
			flag = f
		}
	}
	switch {
	case flag == nil:
		return "", nil, bad("unknown key")
	case name == fConfig:
		return "", nil, bad("a configuration file cannot name another")
	case slices.Contains(site.OwnKeys, strings.ReplaceAll(name, "-", "_")):
		return "", nil, bad("write %s", strings.ReplaceAll(name, "-", "_"))
	}
	_, isList := flag.(*cli.StringSliceFlag)
	scalar := func(v any) (string, error) {
		switch x := v.(type) {
		case string:
			return x, nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case bool:
			return strconv.FormatBool(x), nil
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		}
		return "", fmt.Errorf("a %s is not a value for --%s", reflect.TypeOf(v), name)
	}
	var vals []string
	if list, ok := s.Value.([]any); ok {
		if !isList {
			return "", nil, bad("--%s takes one value, not a list", name)
		}
		for _, e := range list {
			v, err := scalar(e)
			if err != nil {
				return "", nil, bad("%v", err)
			}
			vals = append(vals, v)
		}
		if len(vals) == 0 {
			return "", nil, bad("empty list")
		}
	} else {
		v, err := scalar(s.Value)
		if err != nil {
			return "", nil, bad("%v", err)
		}
		if _, isBool := flag.(*cli.BoolFlag); isBool {
			if _, ok := s.Value.(bool); !ok {
				return "", nil, bad("want true or false")
			}
		}
		vals = []string{v}
	}
	return name, vals, nil
}

// siteConfig returns the site configuration to build: the file's, with the
// default site's root and options from the flags where a flag or variable
// was given or the file says nothing.
func (fc *fileConfig) siteConfig(cfg *site.Config, o *options) *site.Config {
	c := *cfg
	d := &c.Default
	if fc.explicit[fRoot] || d.Root == "" {
		d.Root = o.root
	}
	if fc.explicit[fIndex] || d.Index == nil {
		d.Index = &o.index
	}
	if fc.explicit[fListing] || d.Listing == nil {
		d.Listing = &o.listing
	}
	if fc.explicit[fDotfiles] || d.Dotfiles == nil {
		d.Dotfiles = &o.dotfiles
	}
	if fc.explicit[fHideWellKnown] || d.HideWellKnown == nil {
		d.HideWellKnown = &o.hideWellKnown
	}
	return &c
}

// rootFromFlag reports whether the default site's root comes from --root
// (or its variable, or its default) rather than the file.
func (fc *fileConfig) rootFromFlag() bool {
	return fc.explicit[fRoot] || fc.site.Default.Root == ""
}

// newSite builds the site handler at start.
func (d *daemon) newSite(fc *fileConfig) (*site.Reloadable, error) {
	o := &d.o
	if fc.rootFromFlag() {
		// The messages operators know from before the file existed.
		st, err := os.Stat(o.root)
		if err != nil {
			return nil, fail("--%s: %v", fRoot, err)
		}
		if !st.IsDir() {
			return nil, fail("--%s %s: not a directory", fRoot, o.root)
		}
	}
	h, err := site.New(fc.siteConfig(fc.site, o))
	if err != nil {
		return nil, fail("%v", err)
	}
	if fc.path != "" {
		d.reload.Add("site", func() error { return d.reloadSite(fc, h) })
	}
	return h, nil
}

// reloadSite re-reads the file and swaps the site configuration in when it
// is good (SIGHUP; off the loops). Flag keys the file changed take effect at
// the next start (or upgrade), and are logged.
func (d *daemon) reloadSite(fc *fileConfig, h *site.Reloadable) error {
	cfg, err := site.Load(fc.path)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, s := range cfg.Settings {
		name, vals, err := fc.setting(s)
		if err != nil {
			return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "ringhttpd: "))
		}
		seen[name] = true
		if fc.settings[name] != strings.Join(vals, "\x00") && !fc.explicit[name] {
			d.log.Warn("configuration key changed; it takes effect at the next start or upgrade", "key", s.Key)
		}
	}
	for name := range fc.settings {
		if !seen[name] && !fc.explicit[name] {
			d.log.Warn("configuration key removed; it takes effect at the next start or upgrade", "key", name)
		}
	}
	if err := h.Swap(fc.siteConfig(cfg, &d.o)); err != nil {
		return err
	}
	fc.site = cfg
	return nil
}
