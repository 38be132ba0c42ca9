/**
 * Method comparisons: the same data, budget and seeds for several adapter methods, and the report that answers
 * "which method for my data". {@link dev.peftd.comparison.LocalComparison} trains the runs in this process (the
 * {@code compare} command); {@link dev.peftd.comparison.ComparisonReport} turns per-run results, however they were
 * produced (in-process, or as a service's child jobs), into {@code report.json}, {@code report.html} and its pictures.
 * Depends only on the core.
 */
package dev.peftd.comparison;
