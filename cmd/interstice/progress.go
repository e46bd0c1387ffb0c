package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// minProgressBytes is the work below which no bar is drawn: such scans
// finish before a bar helps.
const minProgressBytes = 8 << 20

// progressFor is progress; tests replace it to see the reports.
var progressFor = progress

// progress returns a callback for persistence.Options.Progress (bytes done
// and total) that draws a progress line on stderr when stderr is a
// terminal, and nothing otherwise (so scripts and pipes see clean output).
// finish clears the line. The rate is the bytes done over the time since
// progress was called, that is since the work started: a first report
// that covers a whole segment does not read as "4.0 TB/s".
func progress(what string) (fn func(done, total int64), finish func()) {
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		return nil, func() {}
	}
	m := &meter{what: what, w: os.Stderr, start: time.Now(), now: time.Now}
	return m.report, m.finish
}

// meter draws one progress line.
type meter struct {
	what  string
	w     io.Writer
	start time.Time
	now   func() time.Time
	last  time.Time // last draw
	width int       // of the last line drawn, to clear it
}

func (m *meter) report(done, total int64) {
	if total < minProgressBytes {
		return
	}
	now := m.now()
	if done < total && now.Sub(m.last) < 100*time.Millisecond {
		return
	}
	m.last = now
	line := progressLine(m.what, done, total, now.Sub(m.start))
	pad := max(m.width-len(line), 0)
	fmt.Fprintf(m.w, "\r%s%s", line, strings.Repeat(" ", pad))
	m.width = len(line)
}

func (m *meter) finish() {
	if m.width > 0 {
		fmt.Fprintf(m.w, "\r%s\r", strings.Repeat(" ", m.width))
		m.width = 0
	}
}

// progressLine renders "validate  42%  44.0 MB / 105 MB  210 MB/s  eta 0s".
func progressLine(what string, done, total int64, elapsed time.Duration) string {
	pct := int64(100)
	if total > 0 {
		pct = done * 100 / total
	}
	s := fmt.Sprintf("%-8s %3d%%  %s / %s", what, pct, humanBytes(float64(done)), humanBytes(float64(total)))
	if sec := elapsed.Seconds(); sec >= 0.05 && done > 0 {
		rate := float64(done) / sec
		s += "  " + humanBytes(rate) + "/s"
		if done < total {
			eta := time.Duration(float64(total-done) / rate * float64(time.Second))
			s += "  eta " + eta.Round(time.Second).String()
		}
	}
	return s
}

// humanBytes renders n bytes in decimal units: "512 B", "44.0 MB", "105 MB".
func humanBytes(n float64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	i := 0
	for n >= 1000 && i < len(units)-1 {
		n /= 1000
		i++
	}
	switch {
	case i == 0:
		return fmt.Sprintf("%d B", int64(n))
	case n < 100:
		return fmt.Sprintf("%.1f %s", n, units[i])
	}
	return fmt.Sprintf("%.0f %s", n, units[i])
}
