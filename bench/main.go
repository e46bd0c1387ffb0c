// Command bench measures Interstice side by side with its peers, in one run,
// and reports each comparison as a ratio (see BRIEF.md "Performance
// targets"). It is not a test: `make bench` runs it and writes RESULTS.md.
//
//	go run . [-out RESULTS.md] [-only substring] [-quick]
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

// Figure is one measured side of a comparison.
type Figure struct {
	Name  string
	Value float64 // in Unit
	Unit  string  // e.g. "ops/s", "ns/op", "MB/s"
	Note  string
}

// Result compares ours with a peer. Ratio is ours/peer for rates and
// peer/ours for costs, so that > 1 always means "Interstice is better"; it is
// computed by the harness, never hard-coded.
type Result struct {
	Name    string
	Ours    Figure
	Peer    Figure
	Target  float64 // the minimum ratio asked for
	Compare string  // how the ratio reads, e.g. "ours/peer"
}

func (r Result) Ratio() float64 {
	if r.Peer.Value == 0 || r.Ours.Value == 0 {
		return 0
	}
	if lowerIsBetter(r.Ours.Unit) {
		return r.Peer.Value / r.Ours.Value
	}
	return r.Ours.Value / r.Peer.Value
}

func lowerIsBetter(unit string) bool {
	return strings.HasPrefix(unit, "ns") || strings.HasPrefix(unit, "µs") || strings.HasPrefix(unit, "B/") || unit == "s" || unit == "ms" ||
		strings.HasSuffix(unit, "/call") // costs per call: fdatasyncs, records
}

type bench struct {
	name string
	run  func(cfg config) []Result
}

type config struct {
	quick bool
	dir   string // scratch directory on the disk under test
}

var benches []bench

func register(name string, run func(cfg config) []Result) {
	benches = append(benches, bench{name, run})
}

func main() {
	out := flag.String("out", "", "write a Markdown report to this file")
	only := flag.String("only", "", "run only benchmarks whose name contains this")
	quick := flag.Bool("quick", false, "smaller sizes (a smoke run, figures not for the record)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fatal(err)
		}
		must(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}

	dir, err := os.MkdirTemp(".", "out-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg := config{quick: *quick, dir: dir}

	var all []Result
	start := time.Now()
	for _, b := range benches {
		if *only != "" && !strings.Contains(b.name, *only) {
			continue
		}
		fmt.Fprintf(os.Stderr, "== %s\n", b.name)
		rs := b.run(cfg)
		for _, r := range rs {
			printResult(os.Stdout, r)
		}
		all = append(all, rs...)
	}
	if *out != "" {
		if err := writeReport(*out, all, time.Since(start)); err != nil {
			fatal(err)
		}
	}
}

func printResult(w *os.File, r Result) {
	status := "ok"
	switch {
	case r.Target == 0:
		status = "(informative)"
	case r.Ratio() < r.Target:
		status = "BELOW TARGET"
	}
	fmt.Fprintf(w, "%-58s ours %12s %-7s peer %12s %-7s ratio %6.2fx (target ≥ %.2fx) %s\n",
		r.Name, fmtNum(r.Ours.Value), r.Ours.Unit, fmtNum(r.Peer.Value), r.Peer.Unit, r.Ratio(), r.Target, status)
}

func fmtNum(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func writeReport(path string, rs []Result, took time.Duration) error {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "# Benchmark results\n\n")
	fmt.Fprintf(&b, "Produced by `make bench` (`cd bench && go run . -out RESULTS.md`) on %s, %s/%s, %d CPUs, %s, host %s; the run took %s.\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), host, took.Round(time.Second))
	fmt.Fprintf(&b, "Each row is measured side by side in the same run. The ratio is computed so that > 1 means Interstice is better.\n\n")
	fmt.Fprintf(&b, "| benchmark | Interstice | peer | ratio | target | |\n|---|---|---|---|---|---|\n")
	for _, r := range rs {
		status, target := "met", fmt.Sprintf("≥ %.2fx", r.Target)
		switch {
		case r.Target == 0:
			status, target = "informative", "none"
		case r.Ratio() < r.Target:
			status = "**below target**"
		}
		fmt.Fprintf(&b, "| %s | %s %s (%s) | %s %s (%s) | %.2fx | %s | %s |\n", r.Name,
			fmtNum(r.Ours.Value), r.Ours.Unit, r.Ours.Name, fmtNum(r.Peer.Value), r.Peer.Unit, r.Peer.Name, r.Ratio(), target, status)
	}
	notes := ""
	for _, r := range rs {
		for _, f := range []Figure{r.Ours, r.Peer} {
			if f.Note != "" {
				notes += fmt.Sprintf("- %s / %s: %s\n", r.Name, f.Name, f.Note)
			}
		}
	}
	if notes != "" {
		b.WriteString("\nNotes:\n\n" + notes)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// timeIt runs fn n times (fn gets the iteration) and returns ops/s.
func rate(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

func must(err error) {
	if err != nil {
		fatal(err)
	}
}
