package sources

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is when a source runs: every interval ("15m", "6h", "@every 1h") or at the times of
// a cron expression ("0 2 * * *", "@daily"), in the hub's time zone.
type Schedule interface {
	Next(after time.Time) time.Time
}

type every time.Duration

func (e every) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }

// ParseSchedule reads a schedule; the shortest interval is a minute.
func ParseSchedule(s string) (Schedule, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(strings.TrimPrefix(s, "@every ")); err == nil {
		if d < time.Minute {
			return nil, fmt.Errorf("schedule %q: run at most once a minute", s)
		}
		return every(d), nil
	}
	c, err := cron.ParseStandard(s)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: give an interval (15m, 6h) or a cron expression (\"0 2 * * *\" for 02:00 daily, @hourly, @daily): %v", s, err)
	}
	return c, nil
}
