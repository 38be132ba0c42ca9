/**
 * Comparisons as a service ({@code /v1/fine_tuning/comparisons}): one request trains several methods on the same
 * data, budget and seeds as child jobs on the normal queue (created through the job feature, labelled with the
 * comparison's id), and answers with a table and an HTML report built by the {@link dev.peftd.comparison} engine from
 * the children's exported adapters. Sits above {@code job}.
 */
package dev.peftd.comparisons;
