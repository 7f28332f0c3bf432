# A thin wrapper: meson + ninja do the work.
.PHONY: all kiln test test-quick demo clean

all: kiln

kiln:
	@[ -f build/build.ninja ] || meson setup build
	ninja -C build

# Everything: the suite, the suite under ASan+UBSan, and a short fuzz run.
test:
	scripts/test --all

# The suite once, on the normal build.
test-quick:
	scripts/test

demo: kiln
	scripts/demo

clean:
	rm -rf build build-asan build-fuzz
