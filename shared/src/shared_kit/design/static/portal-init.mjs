// Starts GOV.UK Frontend's components (the service navigation's menu button on a phone…).
// The pages work without it: JavaScript only enhances.
import { initAll } from "./govuk/govuk-frontend.min.js";

initAll();
