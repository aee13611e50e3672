# R `survey` side of the calibrated domain benchmark (run by benchmarks/calibrated_bench.py).
#
#   Rscript benchmarks/calibrated_bench.R DATA.csv LA_SEX.csv AGE.csv OUT_PREFIX N_LAS RAKE_REPEATS
#
# DATA.csv: the carers survey with its weights before raking and every design column;
# LA_SEX.csv (la_code, sex, total) and AGE.csv (age_band, total): the population margins, already
# harmonised by the Python side (the same numbers carepop rakes to). Then
#   d <- svydesign(id = ~msoa_code + respondent, strata = ~la_code,
#                  fpc = ~msoas_in_la + residents_in_msoa, weights = ~weight, data = df)    ("design")
#   r <- rake(d, list(~la_sex, ~age_band), list(pop_la_sex, pop_age),
#             control = list(maxit = 50, epsilon = 1e-8))                                 ("rake")
#   svyby(~carer, ~la_code, r, svymean)                                                   ("svyby")
# each timed with system.time (rake up to RAKE_REPEATS times; the last result is used).
#
# N_LAS = 0 runs svyby over all LAs. N_LAS = k > 0 times only what svyby does for the first k LAs:
# svyby calls svymean(~carer, r[byfactor %in% level, ]) once per domain on the full (raked)
# design, so we make exactly those calls; calibrated_bench.py scales their total by 309 / k and
# says so (the per-LA times are written as "svyby_one").
#
# Writes OUT_PREFIX_timings.csv (what, value), OUT_PREFIX_mean.csv (la_code, estimate, se) and
# OUT_PREFIX_weights.bin (the raked weights, native doubles, in row order).

suppressPackageStartupMessages({
  library(survey)
})

args <- commandArgs(trailingOnly = TRUE)
path <- args[[1]]
la_sex_path <- args[[2]]
age_path <- args[[3]]
out <- args[[4]]
n_las <- as.integer(args[[5]])
rake_repeats <- as.integer(args[[6]])
maxit <- 50
epsilon <- 1e-8

m_la_sex <- read.csv(la_sex_path, colClasses = c("character", "character", "numeric"))
m_age <- read.csv(age_path, colClasses = c("character", "numeric"))
la_sex_levels <- paste(m_la_sex$la_code, m_la_sex$sex, sep = ":")

t_read <- system.time({
  df <- read.csv(
    path,
    colClasses = c(
      respondent = "integer", la_code = "character", msoa_code = "character", msoas_in_la = "numeric",
      residents_in_msoa = "numeric", weight = "numeric", carer = "numeric", sex = "character",
      age_band = "character"
    )
  )
  # la_sex is the interaction la_code:sex, with the margin's levels
  df$la_sex <- factor(paste(df$la_code, df$sex, sep = ":"), levels = la_sex_levels)
  df$age_band <- factor(df$age_band, levels = m_age$age_band)
  df$la_code <- factor(df$la_code)
})[["elapsed"]]
stopifnot(!anyNA(df$la_sex), !anyNA(df$age_band))

pop_la_sex <- data.frame(la_sex = factor(la_sex_levels, levels = la_sex_levels), Freq = m_la_sex$total)
pop_age <- data.frame(age_band = factor(m_age$age_band, levels = m_age$age_band), Freq = m_age$total)

t_design <- system.time(
  d <- svydesign(
    id = ~ msoa_code + respondent, strata = ~la_code, fpc = ~ msoas_in_la + residents_in_msoa,
    weights = ~weight, data = df
  )
)[["elapsed"]]

t_rake <- c()
converged <- TRUE
for (i in seq_len(rake_repeats)) {
  t1 <- system.time(
    r <- withCallingHandlers(
      rake(d, list(~la_sex, ~age_band), list(pop_la_sex, pop_age), control = list(maxit = maxit, epsilon = epsilon)),
      warning = function(w) {
        if (grepl("converge", conditionMessage(w))) converged <<- FALSE
        invokeRestart("muffleWarning")
      }
    )
  )[["elapsed"]]
  t_rake <- c(t_rake, t1)
}

n_all <- nlevels(df$la_code)
subset_mode <- n_las > 0 && n_las < n_all
if (subset_mode) {
  byfactor <- df$la_code
  chosen <- levels(df$la_code)[seq_len(n_las)]
  rows <- list()
  t_each <- c()
  for (lv in chosen) {
    t_each <- c(t_each, system.time(m1 <- svymean(~carer, r[byfactor %in% lv, ]))[["elapsed"]])
    rows[[lv]] <- data.frame(la_code = lv, estimate = coef(m1)[[1]], se = SE(m1)[[1]])
  }
  t_svyby <- sum(t_each)
  m <- do.call(rbind, rows)
  n_timed <- n_las
} else {
  t_svyby <- system.time(s <- svyby(~carer, ~la_code, r, svymean))[["elapsed"]]
  m <- data.frame(la_code = as.character(s[[1]]), estimate = s[[2]], se = s[[3]])
  n_timed <- n_all
  t_each <- c()
}

vm_hwm_kb <- NA
status <- readLines("/proc/self/status")
hwm <- grep("^VmHWM:", status, value = TRUE)
if (length(hwm) == 1) vm_hwm_kb <- as.numeric(gsub("[^0-9]", "", hwm))

timings <- data.frame(
  what = c(
    "read", "design", rep("rake", length(t_rake)), "svyby", "n_las_timed", "n_las", "converged",
    "peak_rss_kb", "weight_total_before", "weight_total_after", rep("svyby_one", length(t_each))
  ),
  value = c(
    t_read, t_design, t_rake, t_svyby, n_timed, n_all, as.numeric(converged), vm_hwm_kb,
    sum(weights(d)), sum(weights(r)), t_each
  )
)
write.csv(timings, paste0(out, "_timings.csv"), row.names = FALSE)
write.csv(m, paste0(out, "_mean.csv"), row.names = FALSE)
writeBin(as.double(weights(r)), paste0(out, "_weights.bin"))
cat(sprintf(
  "R: read %.2fs, design %.2fs, rake %s s (converged %s), svyby %.1f s over %d of %d LAs, peak %s MB\n",
  t_read, t_design, paste(round(t_rake, 2), collapse = ","), converged, t_svyby, n_timed, n_all,
  format(round(vm_hwm_kb / 1024))
))
