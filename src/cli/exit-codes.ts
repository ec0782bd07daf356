// Every exit code sm-invoke gives, in one table. run.ts maps a run's outcome to one of them;
// main.ts is the only place that exits.
//
// | code | when |
// |------|------|
// | 0    | every record succeeded, or the reader closed the pipe (`| head`) |
// | 1    | the run finished; some records failed (their error results are in the output) |
// | 2    | usage or configuration error, found before anything was sent (also: --envelope input that is not JSON) |
// | 3    | fatal: the run could not work at all (credentials, endpoint, network), or results could not be written |
// | 4    | stopped by --max-errors |
// | 130  | interrupted by SIGINT |
// | 143  | interrupted by SIGTERM |
// | 254  | --body: the service answered with an error (the AWS CLI's code) |
// | 255  | --body: the endpoint or proxy could not be reached (the AWS CLI's code) |
export const EXIT_OK = 0;
export const EXIT_RECORD_ERRORS = 1;
export const EXIT_USAGE = 2;
export const EXIT_FATAL = 3;
export const EXIT_TOO_MANY_ERRORS = 4;
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;
export const EXIT_CLI_SERVICE_ERROR = 254;
export const EXIT_CLI_CONNECT = 255;
