package dev.peftd.core.adapter;

/**
 * A user regex that ran out of its step budget on a module name ({@link UserRegex}): unusable on any model with
 * such names, whatever else the config says, so callers report it as a fault of the config, not of the fit.
 */
public class RegexBudgetException extends AdapterConfigException {

    public RegexBudgetException(String field, String reason) {
        super(field, reason);
    }
}
