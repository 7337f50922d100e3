package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// days is a duration that also takes whole days, "7d", as the safety
// settings (guard.window, deactivateAfter) are usually counted.
type days time.Duration

// UnmarshalYAML reads "7d" or a Go duration ("72h", "90m"). Its errors
// start with "line N:", as the decoder's own do, so that the loader names
// the setting.
func (d *days) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	if num, ok := strings.CutSuffix(s, "d"); ok {
		k, err := strconv.Atoi(num)
		if err != nil || k < 0 {
			return fmt.Errorf("line %d: %q is not a number of days (e.g. 7d) or a duration (e.g. 72h)", n.Line, n.Value)
		}
		*d = days(time.Duration(k) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a number of days (e.g. 7d) or a duration (e.g. 72h)", n.Line, n.Value)
	}
	*d = days(v)
	return nil
}
