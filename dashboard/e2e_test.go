package dashboard

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// e2eTools finds node, Chromium and playwright-core. Without them the test
// is skipped locally and fails in CI.
func e2eTools(t *testing.T) (node, chromium, nodePath string) {
	t.Helper()
	missing := func(what string) {
		if os.Getenv("CI") != "" {
			t.Fatalf("the end-to-end test needs %s in CI", what)
		}
		t.Skipf("no %s: skipping the end-to-end test", what)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node")
	}
	chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		missing(chromium)
	}
	for _, dir := range []string{"e2e/node_modules", "../tracker-js/node_modules"} {
		if _, err := os.Stat(filepath.Join(dir, "playwright-core", "package.json")); err == nil {
			abs, _ := filepath.Abs(dir)
			return node, chromium, abs
		}
	}
	missing("playwright-core (npm install --ignore-scripts in dashboard/e2e)")
	return
}

func TestE2EChromium(t *testing.T) {
	node, chromium, nodePath := e2eTools(t)
	e := newEnv(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "e2e/dashboard.cjs")
	cmd.Env = append(os.Environ(),
		"NODE_PATH="+nodePath,
		"BASE_URL="+e.srv.URL,
		"EMAIL="+viewerEmail,
		"PASSWORD="+password,
		"CHROMIUM="+chromium,
		"USER_DATA_DIR="+t.TempDir(),
		"DOWNLOAD_DIR="+t.TempDir(),
	)
	out, err := cmd.CombinedOutput()
	t.Logf("browser checks:\n%s", out)
	if err != nil {
		t.Fatalf("end-to-end checks failed: %v", err)
	}
}
