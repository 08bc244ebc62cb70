# The two commands a newcomer needs: `make serve` and `make test`.
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
LISTEN ?= 127.0.0.1:9000
DATA_DIR ?= .hearth
JOBS ?= $(shell nproc)

.PHONY: deps build asan serve test unit e2e bench clean

deps:
	@scripts/install-deps

$(BUILD)/build.ninja: | deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

build: deps $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS)

# The unit tests again under AddressSanitizer and UndefinedBehaviorSanitizer, in their own tree.
$(BUILD)-asan/build.ninja: | deps
	@cmake -S . -B $(BUILD)-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHEARTH_SANITIZE=ON >/dev/null

asan: deps $(BUILD)-asan/build.ninja
	@cmake --build $(BUILD)-asan -j $(JOBS)

serve: build
	$(BUILD)/bin/hearthd serve --listen $(LISTEN) --data-dir $(DATA_DIR)

test: build asan
	cd $(BUILD)-asan && ctest --output-on-failure -j $(JOBS) -L unit
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

e2e: build
	cd $(BUILD) && ctest --output-on-failure -L e2e

bench: build
	bench/run-all

clean:
	rm -rf $(BUILD) $(BUILD)-asan
