package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmds := map[string]func([]string) error{
		"freeports": freePorts,
		"probe":     probe,
		"steady":    steady,
		"ghz":       ghzReport,
		"stats":     emulatorStats,
		"metrics":   metrics,
		"growth":    growth,
		"summary":   summary,
	}
	run, ok := cmds[os.Args[1]]
	if !ok {
		usage()
	}
	if err := run(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "loadcheck %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: loadcheck freeports|probe|steady|ghz|stats|metrics|growth|summary [flags]")
	os.Exit(2)
}
