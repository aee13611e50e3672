# R `survey` side of the issue-11 task benchmark (run by benchmarks/tasks_bench.py): one task, once,
# in a fresh process.
#
#   Rscript benchmarks/tasks_bench.R TASK DATA.csv OUT_PREFIX [MARGINS.csv EPSILON MAXIT]
#
# TASK (all from the data frame read from the CSV; the timed region includes the design):
#   t1  d <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w); svymean(~y, d); svymean(~cat, d)
#   t2  the same design; svyby(~y, ~la, d, svymean); svyby(~cat, ~la, d, svymean)
#   t3  d <- svydesign(ids = ~1, weights = ~w); rake(d, list(~age, ~sex, ~region), <margins>,
#       control = list(maxit = MAXIT, epsilon = EPSILON))
#   t4  d <- svydesign(ids = ~jkgroup, weights = ~w); r <- as.svrepdesign(d, type = "JK1", mse = TRUE);
#       svyby(~y, ~la, r, svymean); svyby(~cat, ~la, r, svymean)
#
# Reading the CSV is timed apart ("read"). Then gc(), the resident size (VmRSS, "rss_loaded_kb"), the
# high-water mark reset (/proc/self/clear_refs) and the task timed with system.time ("task", elapsed;
# "task_cpu", user + system); "peak_task_kb" is VmHWM after the task (the peak during the task, the
# loaded data included), "hwm_before_reset_kb" the peak before the reset (start-up and reading) and
# "peak_rss_kb" the larger of the two, the process's peak (the reset clears the kernel's record of it).
# Writes OUT_PREFIX_timings.csv (what, value), OUT_PREFIX_est.csv (part, la, level, estimate, se;
# t1, t2, t4) or OUT_PREFIX_weights.bin (t3: the raked weights, native doubles, in row order).

suppressPackageStartupMessages({
  library(survey)
  library(data.table)
})

args <- commandArgs(trailingOnly = TRUE)
task <- args[[1]]
path <- args[[2]]
out <- args[[3]]

status_kb <- function(key) {
  line <- grep(paste0("^", key, ":"), readLines("/proc/self/status"), value = TRUE)
  if (length(line) == 1) as.numeric(gsub("[^0-9]", "", line)) else NA
}
reset_peak <- function() {
  ok <- tryCatch({
    writeLines("5", "/proc/self/clear_refs")
    TRUE
  }, error = function(e) FALSE)
  ok
}

if (task == "t3") {
  mg <- read.csv(args[[4]], stringsAsFactors = FALSE)
  epsilon <- as.numeric(args[[5]])
  maxit <- as.integer(args[[6]])
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
  pops <- list(pop("age"), pop("sex"), pop("region"))
} else {
  t_read <- system.time({
    df <- as.data.frame(fread(path, colClasses = list(character = c("stratum", "la", "cat"))))
    df$la <- factor(df$la)
    df$cat <- factor(df$cat)
  })[["elapsed"]]
}

invisible(gc())
hwm_start <- status_kb("VmHWM")
rss_loaded <- status_kb("VmRSS")
reset_ok <- reset_peak()
converged <- NA

tm <- system.time({
  if (task == "t1" || task == "t2") {
    d <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = df)
  } else if (task == "t3") {
    d <- svydesign(ids = ~1, weights = ~w, data = df)
    converged <- TRUE
    res <- withCallingHandlers(
      rake(d, list(~age, ~sex, ~region), pops, control = list(maxit = maxit, epsilon = epsilon)),
      warning = function(w) {
        if (grepl("converge", conditionMessage(w))) converged <<- FALSE
        invokeRestart("muffleWarning")
      }
    )
  } else if (task == "t4") {
    d0 <- svydesign(ids = ~jkgroup, weights = ~w, data = df)
    d <- as.svrepdesign(d0, type = "JK1", mse = TRUE)
  } else {
    stop("unknown task ", task)
  }
  if (task == "t1") {
    m <- svymean(~y, d)
    p <- svymean(~cat, d)
  } else if (task %in% c("t2", "t4")) {
    m <- svyby(~y, ~la, d, svymean)
    p <- svyby(~cat, ~la, d, svymean)
  }
})
peak_task <- if (reset_ok) status_kb("VmHWM") else NA

timings <- data.frame(
  what = c(
    "read", "task", "task_cpu", "rss_loaded_kb", "peak_task_kb", "peak_rss_kb", "hwm_before_reset_kb",
    "converged"
  ),
  value = c(
    t_read, tm[["elapsed"]], tm[["user.self"]] + tm[["sys.self"]], rss_loaded, peak_task,
    max(hwm_start, peak_task, na.rm = TRUE), hwm_start, as.numeric(converged)
  )
)
write.csv(timings, paste0(out, "_timings.csv"), row.names = FALSE)

if (task == "t3") {
  writeBin(as.double(weights(res)), paste0(out, "_weights.bin"))
} else {
  lv <- levels(df$cat)
  if (task == "t1") {
    est <- rbind(
      data.frame(part = "mean", la = "", level = "", estimate = unname(coef(m)), se = unname(SE(m))),
      data.frame(part = "prop", la = "", level = lv, estimate = unname(coef(p)), se = unname(SE(p)))
    )
  } else {
    k <- length(lv)
    est <- rbind(
      data.frame(part = "mean", la = as.character(m[[1]]), level = "", estimate = m[[2]], se = m[[3]]),
      data.frame(
        part = "prop",
        la = rep(as.character(p[[1]]), times = k),
        level = rep(lv, each = nrow(p)),
        estimate = as.vector(as.matrix(p[, 1 + seq_len(k)])),
        se = as.vector(as.matrix(p[, 1 + k + seq_len(k)]))
      )
    )
  }
  write.csv(est, paste0(out, "_est.csv"), row.names = FALSE)
}
cat(sprintf("R %s: read %.2fs, task %.3fs\n", task, t_read, tm[["elapsed"]]))
