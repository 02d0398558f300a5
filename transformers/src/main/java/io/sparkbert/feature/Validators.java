package io.sparkbert.feature;

import java.io.Serializable;
import scala.runtime.AbstractFunction1;

/** Serializable param validators that ParamValidators lacks. Stateless; thread-safe. */
final class Validators {
    private Validators() {}

    /** Accepts any string except null (empty allowed). */
    static AbstractFunction1<String, Object> notNull() {
        return new NotNull();
    }

    /** Accepts non-null strings with a non-blank value. */
    static AbstractFunction1<String, Object> notBlank() {
        return new NotBlank();
    }

    private static final class NotNull extends AbstractFunction1<String, Object>
            implements Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public Object apply(String v) {
            return v != null;
        }
    }

    private static final class NotBlank extends AbstractFunction1<String, Object>
            implements Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public Object apply(String v) {
            return v != null && !v.trim().isEmpty();
        }
    }
}
