# smmu-sim --fault-report: every kind of injected bus error reported, counted
# and recovered from (exit 0), the table printed, one JSON result per kind
# with as many errors reported as were injected.
execute_process(COMMAND ${SIM} --fault-report --json ${WORKDIR}/fault-report.json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc STREQUAL "0")
  message(FATAL_ERROR "expected exit status 0, got '${rc}'\n${out}${err}")
endif()
foreach(expected "every injected error reported, counted and recovered from"
                 "| stage1-walk | F_WALK_EABT | 8 | 8 | 8 |" "| command-fetch | CMDQ_ERR | 8 |"
                 "| event-write | EVTQ_ABT_ERR | 8 |" "| sync-msi | MSI_CMDQ_ABT_ERR | 8 |")
  string(FIND "${out}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the report lacks '${expected}'\n${out}")
  endif()
endforeach()
file(READ ${WORKDIR}/fault-report.json json)
string(JSON n LENGTH "${json}")
if(NOT n EQUAL 7)
  message(FATAL_ERROR "the JSON holds ${n} scenarios, expected 7")
endif()
math(EXPR last "${n} - 1")
foreach(i RANGE ${last})
  string(JSON injected GET "${json}" ${i} injected)
  string(JSON counted GET "${json}" ${i} smmu_counted)
  string(JSON name GET "${json}" ${i} scenario)
  if(NOT injected EQUAL counted OR injected EQUAL 0)
    message(FATAL_ERROR "${name}: ${injected} injected, ${counted} counted by the SMMU")
  endif()
endforeach()
