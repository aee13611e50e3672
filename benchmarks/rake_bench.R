# R `survey` side of the raking benchmark (run by benchmarks/rake_bench.py).
#
#   Rscript benchmarks/rake_bench.R DATA.csv MARGINS.csv OUT_PREFIX REPEATS BUDGET_S EPSILON MAXIT
#
# Reads the CSV (timed apart as "read"), builds svydesign(id = ~1, weights = ~w) ("design"), then
#   r <- rake(d, list(~age, ~sex, ~region), list(pop_age, pop_sex, pop_region),
#             control = list(maxit = MAXIT, epsilon = EPSILON))                       ("rake")
# up to REPEATS times (stopping once BUDGET_S / 2 seconds have been spent), then on the raked design
#   svyby(~y, ~region, r, svymean)                                                     ("mean")
# up to REPEATS times (stopping once BUDGET_S seconds have been spent in all); each loop runs at
# least once, each call is timed with system.time. Writes OUT_PREFIX_timings.csv (what, value), OUT_PREFIX_mean.csv
# (region, estimate, se) and OUT_PREFIX_weights.bin (the raked weights, native doubles, in row order).

suppressPackageStartupMessages({
  library(survey)
  library(data.table)
})

args <- commandArgs(trailingOnly = TRUE)
path <- args[[1]]
margins_path <- args[[2]]
out <- args[[3]]
repeats <- as.integer(args[[4]])
budget <- as.numeric(args[[5]])
epsilon <- as.numeric(args[[6]])
maxit <- as.integer(args[[7]])

mg <- read.csv(margins_path, stringsAsFactors = FALSE)
t_read <- system.time({
  df <- as.data.frame(fread(path, colClasses = list(character = c("age", "sex", "region"))))
  for (v in c("age", "sex", "region")) df[[v]] <- factor(df[[v]], levels = mg$value[mg$margin == v])
})[["elapsed"]]
stopifnot(!anyNA(df$age), !anyNA(df$sex), !anyNA(df$region))

pop <- function(v) {
  p <- data.frame(factor(mg$value[mg$margin == v], levels = levels(df[[v]])), mg$total[mg$margin == v])
  names(p) <- c(v, "Freq")
  p
}
pop_age <- pop("age")
pop_sex <- pop("sex")
pop_region <- pop("region")

t_design <- system.time(d <- svydesign(id = ~1, weights = ~w, data = df))[["elapsed"]]

# raking, repeated within the budget; then the domain mean on the raked design, repeated within
# what is left of it (each loop runs at least once)
t_rake <- c()
converged <- TRUE
spent <- 0
for (i in seq_len(repeats)) {
  t1 <- system.time(
    r <- withCallingHandlers(
      rake(
        d, list(~age, ~sex, ~region), list(pop_age, pop_sex, pop_region),
        control = list(maxit = maxit, epsilon = epsilon)
      ),
      warning = function(w) {
        if (grepl("converge", conditionMessage(w))) converged <<- FALSE
        invokeRestart("muffleWarning")
      }
    )
  )[["elapsed"]]
  t_rake <- c(t_rake, t1)
  spent <- spent + t1
  if (spent > budget / 2) break
}
t_mean <- c()
for (i in seq_len(repeats)) {
  t2 <- system.time(m <- svyby(~y, ~region, r, svymean))[["elapsed"]]
  t_mean <- c(t_mean, t2)
  spent <- spent + t2
  if (spent > budget) break
}

vm_hwm_kb <- NA
status <- readLines("/proc/self/status")
hwm <- grep("^VmHWM:", status, value = TRUE)
if (length(hwm) == 1) vm_hwm_kb <- as.numeric(gsub("[^0-9]", "", hwm))

timings <- data.frame(
  what = c("read", "design", rep("rake", length(t_rake)), rep("mean", length(t_mean)), "converged", "peak_rss_kb"),
  value = c(t_read, t_design, t_rake, t_mean, as.numeric(converged), vm_hwm_kb)
)
write.csv(timings, paste0(out, "_timings.csv"), row.names = FALSE)
write.csv(
  data.frame(region = as.character(m[[1]]), estimate = m[[2]], se = m[[3]]),
  paste0(out, "_mean.csv"),
  row.names = FALSE
)
writeBin(as.double(weights(r)), paste0(out, "_weights.bin"))
cat(sprintf(
  "R: design %.2fs, rake %s s, svyby %s s, converged %s\n", t_design,
  paste(round(t_rake, 3), collapse = ","), paste(round(t_mean, 3), collapse = ","), converged
))
