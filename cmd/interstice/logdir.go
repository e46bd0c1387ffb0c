package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// segmentFile matches the name of a log segment ("<20-digit LSN>.log") and
// of one being created ("….log.tmp"), which is also a sign of a log.
var segmentFile = regexp.MustCompile(`^[0-9]{20}\.log(\.tmp)?$`)

// notLogError is the refusal of a directory that holds no log (exit 3).
type notLogError struct{ dir string }

func (e notLogError) Error() string {
	return fmt.Sprintf("%s is not a log directory: it holds no log segments (<20-digit lsn>.log) and no log/ subdirectory of a data directory", e.dir)
}

// logDir returns the log directory that the argument dir names: dir itself
// if it holds log segments, else dir/log if dir is a data directory (it has
// a log/ subdirectory with segments). Any other directory is refused, as
// sqlite3 refuses a file that is not a database: reading it would print
// "ok" for an empty log, and repairing it would leave a LOCK file there.
func logDir(dir string) (string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return "", fmt.Errorf("%s is not a directory", dir)
	}
	if ok, err := hasSegments(dir); err != nil || ok {
		return dir, err
	}
	sub := filepath.Join(dir, "log")
	if st, err := os.Stat(sub); err == nil && st.IsDir() {
		if ok, err := hasSegments(sub); err != nil || ok {
			return sub, err
		}
		return "", fmt.Errorf("%s is a data directory whose log %s holds no log segments", dir, sub)
	}
	return "", notLogError{dir}
}

func hasSegments(dir string) (bool, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range ents {
		if e.Type().IsRegular() && segmentFile.MatchString(e.Name()) {
			return true, nil
		}
	}
	return false, nil
}

// segmentSizes returns the size of every segment of the log dir by name,
// and the bytes of the segments before it (in LSN order), for progress by
// record offset.
func segmentSizes(dir string) (before map[string]int64, total int64) {
	ents, _ := os.ReadDir(dir) // sorted by name: LSN order
	before = map[string]int64{}
	for _, e := range ents {
		if !segmentFile.MatchString(e.Name()) || filepath.Ext(e.Name()) != ".log" {
			continue
		}
		if fi, err := e.Info(); err == nil {
			before[e.Name()] = total
			total += fi.Size()
		}
	}
	return before, total
}
