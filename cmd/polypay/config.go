package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// envPrefix starts the environment variable of every serve flag:
// --database-url is $POLYPAY_DATABASE_URL.
const envPrefix = "POLYPAY_"

// envName is the environment variable that sets flag name.
func envName(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// parseLayered parses args into fs, then fills every flag not given on the
// command line from its $POLYPAY_* variable, else from the --config file,
// else leaves its default. That order (command line > environment > file >
// default) lets one file serve a fleet while a unit or a shell overrides
// a single setting.
func parseLayered(fs *flag.FlagSet, args []string, lookupEnv func(string) (string, bool)) error {
	path := fs.String("config", "", "TOML file of serve settings, keys named as the flags (see docs/polypay.example.toml; $"+envName("config")+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if !given["config"] {
		if v, ok := lookupEnv(envName("config")); ok {
			*path = v
		}
	}
	file, err := readConfigFile(fs, *path)
	if err != nil {
		return err
	}
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || f.Name == "config" {
			return
		}
		if name, v, ok := lookupFlagEnv(f.Name, lookupEnv); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("$%s: invalid value %q: %w", name, v, err))
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: key %q: invalid value %q: %w", *path, f.Name, v, err))
			}
		}
	})
	return errors.Join(errs...)
}

// envAliases are further variables for a flag, read when its own is
// unset: POLYPAY_DATABASE_URL is the name container platforms and the
// deploy examples use for --database.
var envAliases = map[string]string{"database": "POLYPAY_DATABASE_URL"}

// lookupFlagEnv finds the variable that sets flag name, and its value.
func lookupFlagEnv(name string, lookupEnv func(string) (string, bool)) (string, string, bool) {
	for _, env := range []string{envName(name), envAliases[name]} {
		if env == "" {
			continue
		}
		if v, ok := lookupEnv(env); ok {
			return env, v, true
		}
	}
	return "", "", false
}

// readConfigFile decodes the TOML file at path ("" for none) into flag
// values as they would be typed after --name=. A key that names no flag
// is refused: a typo must not silently leave a default in force.
func readConfigFile(fs *flag.FlagSet, path string) (map[string]string, error) {
	if path == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	var doc map[string]any
	if _, err := toml.Decode(string(raw), &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]string, len(doc))
	for _, k := range keys {
		if k == "config" || fs.Lookup(k) == nil {
			return nil, fmt.Errorf("%s: unknown key %q (keys are the flags of polypay serve, e.g. \"addr\")", path, k)
		}
		v, err := flagText(doc[k])
		if err != nil {
			return nil, fmt.Errorf("%s: key %q: %w", path, k, err)
		}
		out[k] = v
	}
	return out, nil
}

// flagText renders a TOML value as flag text; an array becomes the
// comma-separated list the list flags (allow-webhook-net, webhook-retry)
// take.
func flagText(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			s, err := flagText(e)
			if err != nil {
				return "", err
			}
			if _, nested := e.([]any); nested {
				return "", errors.New("nested arrays are not a flag value")
			}
			parts[i] = s
		}
		return strings.Join(parts, ","), nil
	default:
		return "", fmt.Errorf("a %T is not a flag value (want a string, number, boolean or array)", v)
	}
}
