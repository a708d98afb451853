package ui

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func fixedClock(p *Printer) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	p.now = func() time.Time {
		n++
		return t0.Add(time.Duration(n) * 1500 * time.Millisecond)
	}
}

func TestStepLinesWithoutTerminal(t *testing.T) {
	var b bytes.Buffer
	p := New(&b, Options{})
	fixedClock(p)
	p.Step("Creating node").Done()
	if err := p.Step("Waiting").End(errString("boom")); err == nil {
		t.Fatal("End must return its error")
	}
	want := " • Creating node ...\n ✓ Creating node (1.5s)\n • Waiting ...\n ✗ Waiting (1.5s)\n"
	if b.String() != want {
		t.Fatalf("got %q\nwant %q", b.String(), want)
	}
}

func TestQuietShowsOnlyFailuresAndWarnings(t *testing.T) {
	var b bytes.Buffer
	p := New(&b, Options{Quiet: true})
	p.Step("ok step").Done()
	p.Infof("info")
	p.Warnf("careful")
	p.Step("bad step").Fail()
	out := b.String()
	if strings.Contains(out, "ok step") || strings.Contains(out, "info") {
		t.Fatalf("quiet printed too much: %q", out)
	}
	if !strings.Contains(out, "WARNING: careful") || !strings.Contains(out, "✗ bad step") {
		t.Fatalf("quiet hid warnings or failures: %q", out)
	}
}

func TestNoColorCodesWhenColorOff(t *testing.T) {
	var b bytes.Buffer
	p := New(&b, Options{Verbosity: 2})
	p.Errorf("run 'kfup doctor'", "docker is not running")
	p.Debugf(2, "debug %d", 2)
	p.Debugf(3, "hidden")
	if strings.Contains(b.String(), "\x1b[") {
		t.Fatalf("colour codes without colour: %q", b.String())
	}
	if b.String() != "ERROR: docker is not running\n  hint: run 'kfup doctor'\ndebug 2\n" {
		t.Fatalf("got %q", b.String())
	}
}

type errString string

func (e errString) Error() string { return string(e) }
