//go:build !wasip1

package sdk_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestModuleOutsideTheRepository builds a module in a directory outside the
// repository with the go.mod template of README.md ("A module outside this
// repository"), offline, and checks that the result is a loadable guest.
func TestModuleOutsideTheRepository(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm module")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := fencedAfter(t, string(readme), "## A module outside this repository", "go.mod")
	dir := t.TempDir()
	gomod := strings.ReplaceAll(tmpl, "/path/to/interstice", root)
	write(t, filepath.Join(dir, "go.mod"), gomod)
	src, err := os.ReadFile(filepath.Join(root, "examples", "counter", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "main.go"), string(src))
	// Offline there is no checksum database: start from the checkout's
	// go.sum, as README.md says.
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "go.sum"), string(sum))
	goTool := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	run := func(args ...string) {
		cmd := exec.Command(goTool, args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("mod", "tidy")
	cmd := exec.Command(goTool, "build", "-buildmode=c-shared", "-o", "counter.wasm", ".")
	cmd.Dir, cmd.Env = dir, append(env, "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	wasm, err := os.ReadFile(filepath.Join(dir, "counter.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		t.Fatalf("counter.wasm is not WebAssembly (%d bytes)", len(wasm))
	}
}

// fencedAfter returns the body of the first ```lang fenced block after
// heading in md.
func fencedAfter(t *testing.T, md, heading, lang string) string {
	t.Helper()
	i := strings.Index(md, heading)
	if i < 0 {
		t.Fatalf("README.md has no %q section", heading)
	}
	rest := md[i:]
	open := "```" + lang + "\n"
	j := strings.Index(rest, open)
	if j < 0 {
		t.Fatalf("no ```%s block after %q", lang, heading)
	}
	body := rest[j+len(open):]
	k := strings.Index(body, "```")
	if k < 0 {
		t.Fatalf("unterminated ```%s block after %q", lang, heading)
	}
	return body[:k]
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
