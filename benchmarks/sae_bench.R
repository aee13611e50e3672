# R side of benchmarks/sae_bench.py: Fay-Herriot REML EBLUP + analytic (Prasad-Rao) MSE with sae 1.3.
#   Rscript benchmarks/sae_bench.R DATA.csv OUT.csv
# Reads the simulated areas (y, x1..x4, psi), times mseFH (which fits eblupFH and adds the MSE) with
# system.time, and writes the estimates, the MSEs and the task time (seconds, elapsed) to OUT.csv.
.libPaths(c("/work/rlib", .libPaths()))
suppressMessages(library(sae))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
tm <- system.time(
  res <- mseFH(y ~ x1 + x2 + x3 + x4, psi, method = "REML", data = d)
)["elapsed"]
out <- data.frame(est = as.vector(res$est$eblup), mse = res$mse, seconds = unname(tm),
                  sigma2 = res$est$fit$refvar, iterations = res$est$fit$iterations)
write.csv(out, args[2], row.names = FALSE)
