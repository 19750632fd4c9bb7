# Runs every file of robustness/ with one good case in one run, with --json:
# each gets its error (file and key named) or its correct replay, the good case
# still agrees, the summary is printed and the JSON report is valid.
set(report "${WORK_DIR}/robustness-report.json")
file(REMOVE "${report}")
execute_process(COMMAND ${RUNNER} --json ${report} ${CASES_DIR}/robustness ${CASES_DIR}/cases/qemu-s1/qemu-s1-0001.json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
if(NOT rc STREQUAL "1")
  message(FATAL_ERROR "expected exit status 1 (some cases are errors), got '${rc}'\n${all}")
endif()
set(expected
  "robustness/ram-above-52bit.json: ram[0]: "
  "robustness/memory-outside-ram.json: memory[56].pa: "
  "robustness/bad-utf8.json: invalid JSON"
  "\\xff"
  "robustness/idr1-zero.json: smmu_id.IDR1: "
  "robustness/cmdq-base-outside-ram.json: smmu.CMDQ_BASE: "
  "robustness/dup-stream-id.json: stream_id: key given twice"
  "robustness/wide-32bit-regs.json: smmu.CR1: "
  "robustness/iova-wraps.json: probes[3].iova: "
  "case qemu-s1-0001: 10/10 probes agree"
  "conformance: 30 of 60 probes agree (3 of 11 cases)")
foreach(text ${expected})
  string(FIND "${all}" "${text}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "output lacks '${text}'\n${all}")
  endif()
endforeach()
# cmdq-log2-19 and eventq-log2-12 replay: exactly three cases named qemu-s1-0001 agree 10/10.
string(REGEX MATCHALL "case qemu-s1-0001: 10/10 probes agree" agreeing "${all}")
list(LENGTH agreeing n)
if(NOT n EQUAL 3)
  message(FATAL_ERROR "expected 3 replaying cases with 10/10 (the good one, cmdq-log2-19, eventq-log2-12), got ${n}\n${all}")
endif()
if(NOT EXISTS "${report}")
  message(FATAL_ERROR "--json report not written\n${all}")
endif()
file(READ "${report}" json)
string(JSON cases GET "${json}" cases)
string(JSON probes GET "${json}" probes)
if(NOT cases EQUAL 11 OR NOT probes EQUAL 60)
  message(FATAL_ERROR "report has ${cases} cases and ${probes} probes, expected 11 and 60")
endif()
