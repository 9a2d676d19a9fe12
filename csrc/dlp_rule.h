/* One DLP pattern taken from a secret scanner's rule set (dlp_gitleaks.h,
 * dlp_titus.h): the rule's id and its regex, reshaped for pipelock. */
#ifndef BC_DLP_RULE_H
#define BC_DLP_RULE_H

#include <stddef.h>

struct bc_dlp_rule { const char *id; const char *regex; };

#endif
