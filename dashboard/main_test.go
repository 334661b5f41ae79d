package dashboard

import (
	"os"
	"testing"

	"github.com/shade-analytics/shade/internal/chtest"
)

func TestMain(m *testing.M) { os.Exit(chtest.Main(m)) }
