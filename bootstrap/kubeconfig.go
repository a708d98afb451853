package bootstrap

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"syscall"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kfup/kfup/internal/errs"
)

// pathOptions selects the user's kubeconfig: explicit when set, else $KUBECONFIG (all of its
// files, merged) or ~/.kube/config, exactly like kubectl.
func pathOptions(explicit string) *clientcmd.PathOptions {
	po := clientcmd.NewDefaultPathOptions()
	if explicit != "" {
		po.LoadingRules.ExplicitPath = explicit
	}
	return po
}

// MergeContext takes a kubeconfig for one cluster (as kind returns it), renames its
// cluster, user and context to ctxName and merges them into the user's kubeconfig,
// leaving every other entry untouched. With setCurrent the new context becomes current.
// It returns the file written; each file is replaced atomically (modifyKubeconfig).
func MergeContext(kubeconfig []byte, ctxName, explicitPath string, setCurrent bool) (string, error) {
	src, err := clientcmd.Load(kubeconfig)
	if err != nil {
		return "", fmt.Errorf("parse cluster kubeconfig: %w", err)
	}
	srcCtx, ok := src.Contexts[src.CurrentContext]
	if !ok {
		return "", fmt.Errorf("cluster kubeconfig has no current context")
	}
	cluster, user := src.Clusters[srcCtx.Cluster], src.AuthInfos[srcCtx.AuthInfo]
	if cluster == nil || user == nil {
		return "", fmt.Errorf("cluster kubeconfig context %q lacks its cluster or user", src.CurrentContext)
	}
	po := pathOptions(explicitPath)
	cfg, err := po.GetStartingConfig()
	if err != nil {
		return "", fmt.Errorf("read kubeconfig: %w", err)
	}
	// Keep each entry in the file it already lives in (with $KUBECONFIG listing several
	// files), so a stale entry there is replaced rather than shadowed by a copy in the first.
	cluster, user = cluster.DeepCopy(), user.DeepCopy()
	newCtx := &clientcmdapi.Context{Cluster: ctxName, AuthInfo: ctxName, Namespace: srcCtx.Namespace}
	cluster.LocationOfOrigin, user.LocationOfOrigin, newCtx.LocationOfOrigin = "", "", ""
	if old := cfg.Clusters[ctxName]; old != nil {
		cluster.LocationOfOrigin = old.LocationOfOrigin
	}
	if old := cfg.AuthInfos[ctxName]; old != nil {
		user.LocationOfOrigin = old.LocationOfOrigin
	}
	if old := cfg.Contexts[ctxName]; old != nil {
		newCtx.LocationOfOrigin = old.LocationOfOrigin
	}
	cfg.Clusters[ctxName] = cluster
	cfg.AuthInfos[ctxName] = user
	cfg.Contexts[ctxName] = newCtx
	if setCurrent {
		cfg.CurrentContext = ctxName
	}
	if err := modifyKubeconfig(po, *cfg); err != nil {
		return "", fmt.Errorf("write kubeconfig: %w", err)
	}
	if newCtx.LocationOfOrigin != "" {
		return newCtx.LocationOfOrigin, nil
	}
	return po.GetDefaultFilename(), nil
}

// RemoveContext deletes context ctxName and the cluster and user of the same name from the
// user's kubeconfig; a missing context is not an error. Other entries are untouched.
func RemoveContext(ctxName, explicitPath string) error {
	po := pathOptions(explicitPath)
	cfg, err := po.GetStartingConfig()
	if err != nil {
		return fmt.Errorf("read kubeconfig: %w", err)
	}
	_, hasCtx := cfg.Contexts[ctxName]
	_, hasCluster := cfg.Clusters[ctxName]
	_, hasUser := cfg.AuthInfos[ctxName]
	if !hasCtx && !hasCluster && !hasUser {
		return nil
	}
	delete(cfg.Contexts, ctxName)
	delete(cfg.Clusters, ctxName)
	delete(cfg.AuthInfos, ctxName)
	if cfg.CurrentContext == ctxName {
		cfg.CurrentContext = ""
	}
	if err := modifyKubeconfig(po, *cfg); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// HasContext reports whether the user's kubeconfig has context ctxName.
func HasContext(ctxName, explicitPath string) (bool, error) {
	cfg, err := pathOptions(explicitPath).GetStartingConfig()
	if err != nil {
		return false, fmt.Errorf("read kubeconfig: %w", err)
	}
	_, ok := cfg.Contexts[ctxName]
	return ok, nil
}

// RESTConfig returns a client config for context ctxName of the user's kubeconfig.
func RESTConfig(ctxName, explicitPath string) (*rest.Config, error) {
	rules := pathOptions(explicitPath).LoadingRules
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: ctxName})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig context %q: %w", ctxName, err)
	}
	// client-go's defaults (5 requests/s, bursts of 10) would throttle an install of
	// hundreds of objects for tens of seconds; kubectl's own client allows as much as this
	cfg.QPS, cfg.Burst = ClientQPS, ClientBurst
	return cfg, nil
}

// ClientQPS and ClientBurst limit kfup's requests to a cluster's API server, as kubectl's
// defaults do; the server's priority and fairness protects it beyond that.
const (
	ClientQPS   = 50
	ClientBurst = 300
)

// CurrentContext returns the current context of the user's kubeconfig.
func CurrentContext(explicitPath string) (string, error) {
	cfg, err := pathOptions(explicitPath).GetStartingConfig()
	if err != nil {
		return "", fmt.Errorf("read kubeconfig: %w", err)
	}
	if cfg.CurrentContext == "" {
		return "", errs.Usage("pass --context NAME (see 'kubectl config get-contexts')", "the kubeconfig has no current context")
	}
	return cfg.CurrentContext, nil
}

// modifyKubeconfig writes the changes of newConfig against po's starting config as
// clientcmd.ModifyConfig does — each entry into the file it came from, new ones and a new
// current context into the default file, local paths relative to their file, kubectl's
// <file>.lock files held — except that each file changed is written once and atomically:
// a temporary file in its directory, with its mode, renamed over it. ModifyConfig rewrites
// a file in place once per entry, so a failed write (disk full) or a kill in the middle
// left it truncated, every other context of the user's gone. Preferences are not written.
func modifyKubeconfig(po *clientcmd.PathOptions, newConfig clientcmdapi.Config) error {
	if clientcmd.UseModifyConfigLock {
		sources := slices.Clone(po.GetLoadingPrecedence())
		slices.Sort(sources) // always the same order: no deadlock with another writer
		for _, f := range sources {
			if err := lockKubeconfigFile(f); err != nil {
				return err
			}
			defer os.Remove(f + ".lock")
		}
	}
	start, err := po.GetStartingConfig()
	if err != nil {
		return err
	}
	if reflect.DeepEqual(*start, newConfig) {
		return nil
	}
	if !reflect.DeepEqual(start.Preferences, newConfig.Preferences) {
		return errors.New("kubeconfig preferences cannot be changed")
	}
	files := map[string]*clientcmdapi.Config{}
	load := func(file string) (*clientcmdapi.Config, error) {
		if c, ok := files[file]; ok {
			return c, nil
		}
		c, err := clientcmd.LoadFromFile(file)
		if errors.Is(err, fs.ErrNotExist) {
			c, err = clientcmdapi.NewConfig(), nil
		}
		if err != nil {
			return nil, err
		}
		files[file] = c
		return c, nil
	}
	dest := func(origin string) string {
		if origin == "" {
			return po.GetDefaultFilename()
		}
		return origin
	}
	if start.CurrentContext != newConfig.CurrentContext {
		c, err := currentContextFile(po, newConfig.CurrentContext, load)
		if err != nil {
			return err
		}
		c.CurrentContext = newConfig.CurrentContext
	}
	for key, cluster := range newConfig.Clusters {
		if old, ok := start.Clusters[key]; ok && reflect.DeepEqual(cluster, old) {
			continue
		}
		file := dest(cluster.LocationOfOrigin)
		c, err := load(file)
		if err != nil {
			return err
		}
		t := *cluster
		t.LocationOfOrigin = file
		if err := clientcmd.RelativizeClusterLocalPaths(&t); err != nil {
			return err
		}
		c.Clusters[key] = &t
	}
	for key, user := range newConfig.AuthInfos {
		if old, ok := start.AuthInfos[key]; ok && reflect.DeepEqual(user, old) {
			continue
		}
		file := dest(user.LocationOfOrigin)
		c, err := load(file)
		if err != nil {
			return err
		}
		t := *user
		t.LocationOfOrigin = file
		if err := clientcmd.RelativizeAuthInfoLocalPaths(&t); err != nil {
			return err
		}
		c.AuthInfos[key] = &t
	}
	for key, context := range newConfig.Contexts {
		if old, ok := start.Contexts[key]; ok && reflect.DeepEqual(context, old) {
			continue
		}
		c, err := load(dest(context.LocationOfOrigin))
		if err != nil {
			return err
		}
		c.Contexts[key] = context
	}
	for key, cluster := range start.Clusters {
		if _, ok := newConfig.Clusters[key]; !ok {
			c, err := load(dest(cluster.LocationOfOrigin))
			if err != nil {
				return err
			}
			delete(c.Clusters, key)
		}
	}
	for key, user := range start.AuthInfos {
		if _, ok := newConfig.AuthInfos[key]; !ok {
			c, err := load(dest(user.LocationOfOrigin))
			if err != nil {
				return err
			}
			delete(c.AuthInfos, key)
		}
	}
	for key, context := range start.Contexts {
		if _, ok := newConfig.Contexts[key]; !ok {
			c, err := load(dest(context.LocationOfOrigin))
			if err != nil {
				return err
			}
			delete(c.Contexts, key)
		}
	}
	names := make([]string, 0, len(files))
	for f := range files {
		names = append(names, f)
	}
	slices.Sort(names)
	for _, f := range names {
		if err := writeKubeconfigFile(f, files[f]); err != nil {
			return err
		}
	}
	return nil
}

// currentContextFile returns the config of the file a new current context goes into, as
// clientcmd.ModifyConfig picks it: the explicit file, else the default file; a cleared one
// is cleared in the first file that sets it.
func currentContextFile(po *clientcmd.PathOptions, current string, load func(string) (*clientcmdapi.Config, error)) (*clientcmdapi.Config, error) {
	if po.IsExplicitFile() {
		return load(po.GetExplicitFile())
	}
	if current != "" {
		return load(po.GetDefaultFilename())
	}
	for _, f := range po.GetLoadingPrecedence() {
		if _, err := os.Stat(f); err != nil {
			continue
		}
		c, err := load(f)
		if err != nil {
			return nil, err
		}
		if c.CurrentContext != "" {
			return c, nil
		}
	}
	return nil, errors.New("no config found to write context")
}

// lockKubeconfigFile creates kubectl's lock file of kubeconfig file f; it fails while
// another writer (kubectl, client-go) holds it.
func lockKubeconfigFile(f string) error {
	if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
		return err
	}
	l, err := os.OpenFile(f+".lock", os.O_CREATE|os.O_EXCL, 0)
	if err != nil {
		return err
	}
	return l.Close()
}

// writeKubeconfigFile writes c to kubeconfig file path atomically: into a temporary file in
// the same directory, with the mode (and, where allowed, the owner) of the file it
// replaces, then renamed over it; a symlink is followed, so the file it points to is the
// one replaced. On any error the file is as it was.
func writeKubeconfigFile(path string, c *clientcmdapi.Config) error {
	content, err := clientcmd.Write(*c)
	if err != nil {
		return err
	}
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		path = resolved
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mode, uid, gid := fs.FileMode(0o600), -1, -1
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".kfup-*")
	if err != nil {
		return err
	}
	renamed := false
	defer func() {
		if !renamed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	if uid >= 0 {
		_ = tmp.Chown(uid, gid) // only root may give a file away; then the caller owns it
	}
	if _, err := tmp.Write(content); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	renamed = true
	return nil
}
