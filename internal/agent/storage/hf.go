package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// hfEndpoint is the Hugging Face Hub; HF_ENDPOINT (as huggingface_hub reads it) points
// the initializer at a mirror.
const hfEndpoint = "https://huggingface.co"

// downloadHF copies every file of the Hub model hf://<org>/<model>[:<revision>] (revision
// main by default): the file list from /api/models/<repo>/revision/<rev>, each file from
// /<repo>/resolve/<rev>/<file>, with HF_TOKEN as a bearer token when it is set.
func downloadHF(ctx context.Context, uri, rest string, w *writer, o Options) error {
	repo, rev, _ := strings.Cut(rest, ":")
	if rev == "" {
		rev = "main"
	}
	org, model, ok := strings.Cut(strings.Trim(repo, "/"), "/")
	if !ok || org == "" || model == "" || strings.Contains(model, "/") {
		return fmt.Errorf("storageUri %q: use hf://<org>/<model>[:<revision>]", uri)
	}
	base := hfEndpoint
	if e := o.getenv("HF_ENDPOINT"); e != "" {
		base = strings.TrimRight(e, "/")
	}
	h := http.Header{}
	tried := "no HF_TOKEN set (private and gated models need one)"
	if t := o.getenv("HF_TOKEN"); t != "" {
		h.Set("Authorization", "Bearer "+t)
		tried = "the token in HF_TOKEN"
	}
	c := o.client()
	fail := func(what string, err error) error {
		switch code := statusCode(err); code {
		case 404:
			return fmt.Errorf("%s: %s not found (404)", uri, what)
		case 401, 403:
			// the Hub answers 401 for a repository that does not exist, too
			return fmt.Errorf("%s: %s: %d %s with %s: the model is private, gated or does not exist", uri, what, code, http.StatusText(code), tried)
		}
		return fmt.Errorf("%s: %s: %w", uri, what, err)
	}
	esc := url.PathEscape(org) + "/" + url.PathEscape(model)
	body, err := get(ctx, c, fmt.Sprintf("%s/api/models/%s/revision/%s", base, esc, url.PathEscape(rev)), h)
	if err != nil {
		return fail(fmt.Sprintf("model %s/%s at revision %s", org, model, rev), err)
	}
	var info struct {
		Siblings []struct {
			RFilename string `json:"rfilename"`
		} `json:"siblings"`
	}
	err = json.NewDecoder(body).Decode(&info)
	body.Close()
	if err != nil {
		return fmt.Errorf("%s: read the model's file list: %w", uri, err)
	}
	if len(info.Siblings) == 0 {
		return fmt.Errorf("%s: the model has no files at revision %s", uri, rev)
	}
	for _, s := range info.Siblings {
		if _, err := w.path(s.RFilename); err != nil {
			return fmt.Errorf("%s: %w", uri, err)
		}
		parts := strings.Split(s.RFilename, "/")
		for i := range parts {
			parts[i] = url.PathEscape(parts[i])
		}
		f, err := get(ctx, c, fmt.Sprintf("%s/%s/resolve/%s/%s", base, esc, url.PathEscape(rev), strings.Join(parts, "/")), h)
		if err != nil {
			return fail("file "+s.RFilename, err)
		}
		err = w.create(s.RFilename, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", uri, err)
		}
	}
	return nil
}
