# Shortcuts for the scripts in scripts/ (make is optional: the scripts are the interface).
.PHONY: test lab lab-down bench
test:
	./scripts/test
lab:
	./scripts/lab up
lab-down:
	./scripts/lab down
bench:
	./scripts/bench
