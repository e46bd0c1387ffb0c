package main

import (
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress returns a callback for persistence.Options.Progress that draws a
// byte-based progress bar on stderr when stderr is a terminal, and nothing
// otherwise (so scripts and pipes see clean output). done closes the bar.
func progress(what string) (fn func(done, total int64), finish func()) {
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		return nil, func() {}
	}
	var bar *progressbar.ProgressBar
	fn = func(done, total int64) {
		if bar == nil {
			if total < 8<<20 { // short scans finish before a bar helps
				return
			}
			bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(os.Stderr),
				progressbar.OptionSetDescription(what),
				progressbar.OptionShowBytes(true),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionClearOnFinish(),
			)
		}
		_ = bar.Set64(done)
	}
	return fn, func() {
		if bar != nil {
			_ = bar.Finish()
		}
	}
}
