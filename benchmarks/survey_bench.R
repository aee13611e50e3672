# R `survey` side of the carepop benchmark (run by benchmarks/run.py).
#
#   Rscript benchmarks/survey_bench.R DATA.csv OUT_PREFIX DESIGN REPEATS BUDGET_S N_DOMAINS
#
# DESIGN is "twostage"  svydesign(ids = ~psu + ssu, strata = ~stratum, fpc = ~fpc1 + fpc2, weights = ~w)
#        or "onestage"  svydesign(ids = ~psu, strata = ~stratum, weights = ~w)  (with replacement).
# Reads the CSV (timed apart as "read"), times svydesign once ("design"), then times
#   svyby(~y, ~la, d, svymean)      and      svyby(~cat, ~la, d, svymean)
# up to REPEATS times (stopping once BUDGET_S seconds of estimation have been spent, after at least
# one repeat).
#
# N_DOMAINS = 0 runs svyby over all domains. N_DOMAINS = k > 0 times only what svyby does for k
# evenly spaced domains: svyby calls svymean(formula, design[byfactor %in% level, ]) once per
# domain on the full design, so we make exactly those calls, one per chosen domain, and run.py
# scales their total by D / k and says so. That leaves out svyby's once-per-call work (building
# the by factor, binding the results), so the scaled time slightly under-states R. When all
# domains are run, the same per-domain calls are also timed for 2 domains ("sub_mean",
# "sub_prop") so the scaling can be checked against the full run.
#
# Writes OUT_PREFIX_timings.csv (what, value), OUT_PREFIX_mean.csv and OUT_PREFIX_prop.csv
# (la, level, estimate, se).

suppressPackageStartupMessages({
  library(survey)
  library(data.table)
})

args <- commandArgs(trailingOnly = TRUE)
path <- args[[1]]
out <- args[[2]]
design <- args[[3]]
repeats <- as.integer(args[[4]])
budget <- as.numeric(args[[5]])
n_domains <- as.integer(args[[6]])

t_read <- system.time({
  df <- as.data.frame(fread(path, colClasses = list(character = c("stratum", "la", "cat"))))
  df$la <- factor(df$la)
  df$cat <- factor(df$cat)
})[["elapsed"]]

t_design <- system.time(
  d <- if (design == "twostage") {
    svydesign(ids = ~psu + ssu, strata = ~stratum, fpc = ~fpc1 + fpc2, weights = ~w, data = df)
  } else {
    svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = df)
  }
)[["elapsed"]]

n_la <- nlevels(df$la)
byfactor <- df$la
chosen_domains <- function(k) levels(df$la)[unique(round(seq(1, n_la, length.out = k)))]

# svyby's per-domain work for the chosen domains: returns total seconds and a svyby-like table
per_domain <- function(formula, chosen) {
  secs <- 0
  rows <- list()
  for (lv in chosen) {
    secs <- secs + system.time(r <- svymean(formula, d[byfactor %in% lv, ]))[["elapsed"]]
    rows[[lv]] <- c(coef(r), SE(r))
  }
  tab <- as.data.frame(do.call(rbind, rows))
  list(secs = secs, tab = cbind(la = chosen, tab))
}

subset_mode <- n_domains > 0 && n_domains < n_la
n_timed <- if (subset_mode) n_domains else n_la

t_mean <- c()
t_prop <- c()
spent <- 0
for (i in seq_len(repeats)) {
  if (subset_mode) {
    pm <- per_domain(~y, chosen_domains(n_domains))
    pp <- per_domain(~cat, chosen_domains(n_domains))
    t1 <- pm$secs
    t2 <- pp$secs
    rm <- pm$tab
    rp <- pp$tab
  } else {
    t1 <- system.time(rm <- svyby(~y, ~la, d, svymean))[["elapsed"]]
    t2 <- system.time(rp <- svyby(~cat, ~la, d, svymean))[["elapsed"]]
  }
  t_mean <- c(t_mean, t1)
  t_prop <- c(t_prop, t2)
  spent <- spent + t1 + t2
  if (spent > budget) break
}

sub_mean <- NA
sub_prop <- NA
if (!subset_mode) {
  sub_mean <- per_domain(~y, chosen_domains(2))$secs
  sub_prop <- per_domain(~cat, chosen_domains(2))$secs
}

vm_hwm_kb <- NA
status <- readLines("/proc/self/status")
hwm <- grep("^VmHWM:", status, value = TRUE)
if (length(hwm) == 1) vm_hwm_kb <- as.numeric(gsub("[^0-9]", "", hwm))

timings <- data.frame(
  what = c(
    "read", "design", rep("mean", length(t_mean)), rep("prop", length(t_prop)),
    "sub_mean", "sub_prop", "n_domains_timed", "n_domains", "peak_rss_kb"
  ),
  value = c(t_read, t_design, t_mean, t_prop, sub_mean, sub_prop, n_timed, n_la, vm_hwm_kb)
)
write.csv(timings, paste0(out, "_timings.csv"), row.names = FALSE)

# long tables: la, level, estimate, se (svyby columns: by, estimates, SEs, in level order)
lv <- levels(df$cat)
k <- length(lv)
write.csv(
  data.frame(la = as.character(rm[[1]]), level = "", estimate = rm[[2]], se = rm[[3]]),
  paste0(out, "_mean.csv"),
  row.names = FALSE
)
est_p <- as.matrix(rp[, 1 + seq_len(k)])
se_p <- as.matrix(rp[, 1 + k + seq_len(k)])
write.csv(
  data.frame(
    la = rep(as.character(rp[[1]]), times = k),
    level = rep(lv, each = nrow(rp)),
    estimate = as.vector(est_p),
    se = as.vector(se_p)
  ),
  paste0(out, "_prop.csv"),
  row.names = FALSE
)
cat(sprintf(
  "R %s: design %.2fs, %d/%d domains, mean %s s, prop %s s\n", design, t_design, n_timed, n_la,
  paste(round(t_mean, 3), collapse = ","), paste(round(t_prop, 3), collapse = ",")
))
