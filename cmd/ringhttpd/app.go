package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ringhttpd/ringhttpd/server"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// exitUsage is the exit status for bad flags, a bad root, a busy port: any
// error in what the operator asked for.
const exitUsage = 2

// run runs the command line args and returns the exit status. Errors are
// one line on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.RunContext(ctx, args)
	if err == nil {
		return 0
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := strings.TrimSpace(err.Error()); msg != "" {
			fmt.Fprintln(stderr, msg)
		}
		return ec.ExitCode()
	}
	fmt.Fprintln(stderr, "ringhttpd: "+err.Error())
	return exitUsage
}

// usageError turns a flag parsing error into the one-line exit.
func usageError(_ *cli.Context, err error, _ bool) error {
	return cli.Exit("ringhttpd: "+err.Error(), exitUsage)
}

func newApp(stdout, stderr io.Writer) *cli.App {
	serveCmd := &cli.Command{
		Name:         "serve",
		Usage:        "serve a directory over HTTP/1.1 (the default command)",
		Flags:        serveFlags(),
		Action:       serveAction,
		OnUsageError: usageError,
	}
	versionCmd := &cli.Command{
		Name:  "version",
		Usage: "print the version",
		Action: func(c *cli.Context) error {
			fmt.Fprintln(c.App.Writer, versionLine())
			return nil
		},
		OnUsageError: usageError,
	}
	probe := probeCommand()
	if probe.OnUsageError == nil {
		probe.OnUsageError = usageError
	}
	return &cli.App{
		Name:  "ringhttpd",
		Usage: "static-file HTTP/1.1 server on io_uring (epoll fallback)",
		Description: "With no command, ringhttpd serves: `ringhttpd` alone serves the current directory on " +
			server.DefaultListen + ".\nEvery flag can also be set with its RINGHTTPD_* environment variable.",
		Flags:           serveFlags(),
		Action:          serveAction,
		Commands:        []*cli.Command{serveCmd, probe, versionCmd},
		Writer:          stdout,
		ErrWriter:       stderr,
		HideVersion:     true,
		OnUsageError:    usageError,
		ExitErrHandler:  func(*cli.Context, error) {},
		CommandNotFound: nil,
	}
}

// versionLine describes this build.
func versionLine() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return fmt.Sprintf("ringhttpd %s %s %s/%s engines: %s", v, runtime.Version(), runtime.GOOS, runtime.GOARCH,
		strings.Join(server.Engines(), " "))
}
