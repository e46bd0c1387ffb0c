// Command gen writes the golden log vectors of tests/vectors.
//
//	go run ./tests/vectors/gen [-out tests/vectors]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/interstice/interstice/tests/vectors"
)

func main() {
	out := flag.String("out", "tests/vectors", "directory to write the vectors into")
	flag.Parse()
	if err := vectors.Generate(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
