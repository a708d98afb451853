package storage

import (
	"context"
	"fmt"
	"net/url"
	"path"
)

// downloadHTTP GETs one file from an http(s) URL into the model directory, named after
// the URL's last path segment ("model" when it has none); a .tar.gz, .tgz or .zip is
// unpacked (Download's unpackSingle). No credentials are sent.
func downloadHTTP(ctx context.Context, uri string, w *writer, o Options) error {
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" {
		return fmt.Errorf("storageUri %q is not a URL with a host", uri)
	}
	name := path.Base(u.Path)
	if name == "/" || name == "." || name == "" {
		name = "model"
	}
	body, err := get(ctx, o.client(), uri, nil)
	if err != nil {
		switch statusCode(err) {
		case 404:
			return fmt.Errorf("%s: not found (404)", redact(u))
		case 401, 403:
			return fmt.Errorf("%s: %s: kfup sends no credentials to http(s):// storage; make the file public or use s3:// with a secret", redact(u), err)
		}
		return fmt.Errorf("%s: %w", redact(u), err)
	}
	defer body.Close()
	if err := w.create(name, body); err != nil {
		return fmt.Errorf("%s: %w", redact(u), err)
	}
	return nil
}

// redact drops a URL's user info and query (signed URLs carry secrets there).
func redact(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.ForceQuery = nil, "", false
	return c.String()
}
