package bootstrap

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"

	"github.com/kfup/kfup/internal/errs"
)

// PortFreeFunc reports whether a TCP port on addr can be bound by Docker.
type PortFreeFunc func(addr string, port int) bool

// TCPPortFree tries to listen on addr:port. A permission error (an unprivileged user
// probing a port below 1024) counts as free: Docker's daemon binds the port, not kfup.
func TCPPortFree(addr string, port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
	if err != nil {
		return errors.Is(err, syscall.EACCES)
	}
	l.Close()
	return true
}

// PortRequest asks for one host port: Explicit is a port the user named (0: pick one),
// Preferred the ports to try first, in order, when picking.
type PortRequest struct {
	Flag      string
	Explicit  int
	Preferred []int
}

// ResolvePorts picks a free, distinct host port for each request. An explicit port that is
// busy is an error naming the flag; otherwise the first free preferred port wins, then any
// port the kernel hands out.
func ResolvePorts(addr string, free PortFreeFunc, reqs ...PortRequest) ([]int, error) {
	used := map[int]bool{}
	out := make([]int, len(reqs))
	// Explicit ports first, so that a port picked for another request never takes one the
	// user named (--https-port 8080 while 80 is busy and http falls back to 8080).
	for i, r := range reqs {
		if r.Explicit == 0 {
			continue
		}
		if r.Explicit < 1 || r.Explicit > 65535 {
			return nil, errs.Usage("use a port between 1 and 65535, or 0 to pick one", "--%s %d is not a valid port", r.Flag, r.Explicit)
		}
		if used[r.Explicit] {
			return nil, errs.Usage("give each port flag its own port", "--%s %d is already used by another port flag", r.Flag, r.Explicit)
		}
		if !free(addr, r.Explicit) {
			return nil, errs.New(errs.KindConflict,
				fmt.Sprintf("free the port, pass another with --%s, or pass --%s 0 to let kfup pick one", r.Flag, r.Flag),
				"host port %s:%d (--%s) is already in use", addr, r.Explicit, r.Flag)
		}
		out[i] = r.Explicit
		used[r.Explicit] = true
	}
	for i, r := range reqs {
		if r.Explicit != 0 {
			continue
		}
		picked := 0
		for _, p := range r.Preferred {
			if !used[p] && free(addr, p) {
				picked = p
				break
			}
		}
		if picked == 0 {
			p, err := kernelPort(addr)
			if err != nil || used[p] {
				return nil, errs.New(errs.KindConflict, fmt.Sprintf("pass a free port with --%s", r.Flag),
					"no free host port for --%s on %s", r.Flag, addr)
			}
			picked = p
		}
		out[i] = picked
		used[picked] = true
	}
	return out, nil
}

func kernelPort(addr string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
