package bootstrap

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/profiles"
)

// Phase is how far kfup got with a cluster.
type Phase string

const (
	// PhaseCreating is written before kfup starts creating a cluster; a record still in this
	// phase means a create was interrupted, and the next create starts the cluster afresh.
	PhaseCreating Phase = "Creating"
	// PhaseReady is written once the cluster answered and its node was Ready.
	PhaseReady Phase = "Ready"
)

// Record is what kfup remembers about a cluster it made or adopted, so that later commands
// (create again, delete, status) act on exactly that and nothing else.
type Record struct {
	Name      string `json:"name"`
	Provider  string `json:"provider"`
	Phase     Phase  `json:"phase"`
	NodeImage string `json:"nodeImage,omitempty"`
	HTTPPort  int    `json:"httpPort,omitempty"`
	HTTPSPort int    `json:"httpsPort,omitempty"`
	// Context is the kubeconfig context that reaches the cluster.
	Context string `json:"context"`
	// Kubeconfig is the kubeconfig file the context lives in; empty means the default
	// loading rules ($KUBECONFIG or ~/.kube/config).
	Kubeconfig string    `json:"kubeconfig,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	// GPUs are the UUIDs of the host GPUs wired into the node (kfup create --gpu).
	GPUs []string `json:"gpus,omitempty"`
	// Profile is the install profile last applied ("none": cluster only).
	Profile string `json:"profile,omitempty"`
	// Components are the components installed by the last successful install.
	Components []string `json:"components,omitempty"`
	// Applied is the profile of that install, every --set applied: status and test
	// check the components as configured (an Istio without its gateway, say).
	Applied *profiles.Profile `json:"appliedProfile,omitempty"`
}

// Store keeps Records as one JSON file per cluster under Dir/clusters/<name>/.
type Store struct {
	Dir string
}

// DefaultStore returns the store under $KFUP_HOME, else $XDG_STATE_HOME/kfup, else
// ~/.local/state/kfup.
func DefaultStore() (Store, error) {
	if d := os.Getenv("KFUP_HOME"); d != "" {
		return Store{Dir: d}, nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return Store{Dir: filepath.Join(d, "kfup")}, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return Store{}, fmt.Errorf("find kfup's state directory: %w (set KFUP_HOME)", err)
	}
	return Store{Dir: filepath.Join(home, ".local", "state", "kfup")}, nil
}

// ClusterDir is the directory of cluster name's files (record, kind's private kubeconfig).
func (s Store) ClusterDir(name string) string { return filepath.Join(s.Dir, "clusters", name) }

func (s Store) recordPath(name string) string {
	return filepath.Join(s.ClusterDir(name), "cluster.json")
}

// Load returns the record of cluster name, or nil when kfup has none.
func (s Store) Load(name string) (*Record, error) {
	p := s.recordPath(name)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read cluster record: %w", err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, errs.New(errs.KindUsage, fmt.Sprintf("remove %s and run the command again", s.ClusterDir(name)),
			"cluster record %s is corrupt: %v", p, err)
	}
	return &r, nil
}

// Save writes r atomically (temp file + rename), so an interrupt never leaves half a file.
func (s Store) Save(r *Record) error {
	dir := s.ClusterDir(r.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save cluster record: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".cluster-*.json")
	if err != nil {
		return fmt.Errorf("save cluster record: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("save cluster record: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save cluster record: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.recordPath(r.Name)); err != nil {
		return fmt.Errorf("save cluster record: %w", err)
	}
	return nil
}

// Remove deletes everything kfup keeps for cluster name; a missing directory is fine.
func (s Store) Remove(name string) error {
	if err := ValidateName(name); err != nil {
		return fmt.Errorf("remove cluster record: %w", err)
	}
	if err := os.RemoveAll(s.ClusterDir(name)); err != nil {
		return fmt.Errorf("remove cluster record: %w", err)
	}
	return nil
}

// Names lists the clusters that have a directory in the store, sorted.
func (s Store) Names() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(s.Dir, "clusters"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list clusters: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}
