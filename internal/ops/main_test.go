package ops_test

import (
	"os"
	"testing"

	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
