/*
 * NetGuard test harness: the analysis components Elasticsearch's .security index needs.
 *
 * The integ-test zip from Maven Central ships only the modules apm, transport-netty4,
 * x-pack-core and x-pack-security. Security itself works with it (basic auth with the
 * bootstrap password), but the .security index, where API keys and native users live,
 * declares an "email" analyzer built from the uax_url_email tokenizer and the
 * pattern_capture and unique token filters, all three from the analysis-common module,
 * which the zip lacks. Creating an API key then fails with
 * "Unknown filter type [pattern_capture] for [email]".
 *
 * This plugin registers those three names with the Lucene classes behind them, so the
 * index can be created. "unique" is approximated by Lucene's RemoveDuplicatesTokenFilter
 * (duplicates at the same position only); it only affects how the security index
 * analyses e-mail addresses. It is built by tests/harness/elasticsearch.py against the
 * jars of the distribution it is installed into, and never leaves the test cache.
 */
package netguard.esshim;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.email.UAX29URLEmailTokenizer;
import org.apache.lucene.analysis.miscellaneous.RemoveDuplicatesTokenFilter;
import org.apache.lucene.analysis.pattern.PatternCaptureGroupTokenFilter;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

public class SecurityIndexAnalysisPlugin extends Plugin implements AnalysisPlugin {
    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        return Map.of(
            "pattern_capture", (indexSettings, env, name, settings) -> {
                List<Pattern> compiled = new ArrayList<>();
                for (String p : settings.getAsList("patterns")) {
                    compiled.add(Pattern.compile(p));
                }
                Pattern[] patterns = compiled.toArray(new Pattern[0]);
                boolean preserveOriginal = settings.getAsBoolean("preserve_original", true);
                return new TokenFilterFactory() {
                    @Override
                    public String name() {
                        return name;
                    }

                    @Override
                    public TokenStream create(TokenStream in) {
                        return new PatternCaptureGroupTokenFilter(in, preserveOriginal, patterns);
                    }
                };
            },
            "unique", (indexSettings, env, name, settings) -> new TokenFilterFactory() {
                @Override
                public String name() {
                    return name;
                }

                @Override
                public TokenStream create(TokenStream in) {
                    return new RemoveDuplicatesTokenFilter(in);
                }
            }
        );
    }

    @Override
    public Map<String, AnalysisProvider<TokenizerFactory>> getTokenizers() {
        return Map.of(
            "uax_url_email", (indexSettings, env, name, settings) ->
                TokenizerFactory.newFactory(name, UAX29URLEmailTokenizer::new)
        );
    }
}
