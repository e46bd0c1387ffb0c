package core

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/interstice/interstice/row"
)

const crashEnv = "INTERSTICE_CRASH_CHILD"

// TestMain lets the test binary act as the crash test's child process.
func TestMain(m *testing.M) {
	if spec := os.Getenv(crashEnv); spec != "" {
		crashChild(spec)
		return
	}
	if spec := os.Getenv(bankCrashEnv); spec != "" {
		bankCrashChild(spec)
		return
	}
	os.Exit(m.Run())
}

// crashChild opens the data dir in spec ("dir|round|wasm path|cache dir"),
// loads module dur, and runs batch calls until killed: 4 goroutines call
// synchronously and a fifth keeps 16 CallAsync calls in flight. It prints
// "ack <base>" after each acknowledged call (Call returned, or done ran).
func crashChild(spec string) {
	p := strings.Split(spec, "|")
	round, _ := strconv.Atoi(p[1])
	wasm, err := os.ReadFile(p[2])
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	rt, err := Open(NewConfig().WithCompilationCacheDir(p[3]).WithDataDir(p[0]))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	if _, err := rt.LoadModule(wasm); err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	fmt.Println("ready")
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 1; ; i++ {
				base := uint64(round)*1_000_000 + uint64(g)*100_000 + uint64(i)
				if _, err := rt.Call(context.Background(), "dur", "batch", row.MustEncode(base)); err != nil {
					fmt.Println("error", err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Printf("ack %d\n", base)
				mu.Unlock()
			}
		}(g)
	}
	slots := make(chan struct{}, 16)
	for i := 1; ; i++ {
		slots <- struct{}{}
		base := uint64(round)*1_000_000 + 4*100_000 + uint64(i)
		err := rt.CallAsync(context.Background(), "dur", "batch", row.MustEncode(base), func(_ CallResult, err error) {
			if err != nil {
				fmt.Println("error", err)
				os.Exit(2)
			}
			mu.Lock()
			fmt.Printf("ack %d\n", base)
			mu.Unlock()
			<-slots
		})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
	}
}

// killChild runs this test binary as a crash child (env=spec), waits for
// it to say "ready", SIGKILLs it after d, and adds to acked the ids of the
// "ack <id>" lines it printed; any other line fails the test.
func killChild(t *testing.T, round int, env, spec string, d time.Duration, acked map[uint64]bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"="+spec)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	if l := <-lines; l != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("round %d: child said %q", round, l)
	}
	time.AfterFunc(d, func() { cmd.Process.Signal(syscall.SIGKILL) })
	for l := range lines {
		b, ok := strings.CutPrefix(l, "ack ")
		if !ok {
			t.Fatalf("round %d: child: %s", round, l)
		}
		v, _ := strconv.ParseUint(b, 10, 64)
		acked[v] = true
	}
	cmd.Wait()
}

// TestCrashRecovery kills a child process running batch calls (each
// inserts 4 rows atomically; synchronous and asynchronous) at random moments, 20
// times, and checks after each kill that every acknowledged call's rows
// are present and that every batch is all there or not at all.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	wasmPath := dir + "/dur.wasm"
	if err := os.WriteFile(wasmPath, durV1(t), 0o644); err != nil {
		t.Fatal(err)
	}
	data := dir + "/data"
	cache := testConfig(t).cacheDir
	rng := rand.New(rand.NewPCG(1, 2))
	acked := map[uint64]bool{}
	for round := 1; round <= 20; round++ {
		killChild(t, round, crashEnv, fmt.Sprintf("%s|%d|%s|%s", data, round, wasmPath, cache), time.Duration(20+rng.IntN(150))*time.Millisecond, acked)
		rt, err := Open(durConfig(t, data))
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		batches := map[uint64]int{}
		sc, err := rt.Scan("dur", "items", nil)
		if err != nil {
			t.Fatal(err)
		}
		for sc.Next() {
			id, _ := row.Field(sc.Row(), 0)
			batches[id.(uint64)/4]++
		}
		for b, c := range batches {
			if c != 4 {
				t.Fatalf("round %d: batch %d has %d of 4 rows (a partial transaction)", round, b, c)
			}
		}
		for b := range acked {
			if batches[b] != 4 {
				t.Fatalf("round %d: acknowledged batch %d is missing", round, b)
			}
		}
		if round == 20 {
			t.Logf("%d rounds, %d acknowledged batches, %d present", round, len(acked), len(batches))
		}
		rt.Close()
	}
}
