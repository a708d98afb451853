package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/kfup/kfup/internal/errs"
)

// checkLocalImage finds out, before anything is created, whether image can start
// program (python3 for a script), when the image is in the local Docker (as the images
// loaded into kind nodes are): it runs `program -c ”` in a throw-away container without
// network. An image that passed is remembered by its ID, so the check costs one container
// start per image and program. Images that only the cluster has are not checked here; the
// follower catches a missing program when the container starts.
func checkLocalImage(ctx context.Context, image, program string) error {
	if program != "python3" && program != "python" {
		return nil // only Python takes -c ''; other programs are caught at start
	}
	out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", image).Output()
	if err != nil {
		return nil // not here (or no Docker): the cluster pulls it or has it
	}
	id := strings.TrimPrefix(strings.TrimSpace(string(out)), "sha256:")
	cache := ""
	if dir, err := os.UserCacheDir(); err == nil && id != "" {
		cache = filepath.Join(dir, "kfup", "run-image-checks", id[:min(len(id), 24)]+"-"+program)
		if _, err := os.Stat(cache); err == nil {
			return nil
		}
	}
	run := exec.CommandContext(ctx, "docker", "run", "--rm", "--network", "none", "--entrypoint", program, image, "-c", "")
	msg, err := run.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		if cache != "" && os.MkdirAll(filepath.Dir(cache), 0o755) == nil {
			_ = os.WriteFile(cache, nil, 0o644)
		}
		return nil
	case errors.As(err, &ee) && (ee.ExitCode() == 127 || ee.ExitCode() == 126):
		// Docker's "executable file not found" / "permission denied" for the entrypoint
		return errs.Usage(fmt.Sprintf("use an image with Python 3 (--image, or $%s), or run a command the image has (kfup run -- CMD)", RunImageEnv),
			"image %s cannot run %s: %s", image, program, dockerReason(string(msg)))
	}
	return nil // Docker could not answer (daemon, resources): leave it to the cluster
}

// dockerReason is the line of docker run's output that says why the container did not
// start, without Docker's prefix.
func dockerReason(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "executable file not found") || strings.Contains(l, "no such file") || strings.Contains(l, "permission denied") {
			if i := strings.Index(l, "exec: "); i >= 0 {
				l = l[i:]
			}
			return strings.TrimSuffix(strings.TrimSuffix(strings.TrimSpace(l), "."), ": unknown")
		}
	}
	return strings.TrimSpace(strings.SplitN(strings.TrimSpace(out), "\n", 2)[0])
}
